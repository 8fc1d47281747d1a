// Institution autocomplete: suggestions from the registry; picking one fills its country
// (and the work sector). Typing a new name leaves country and sector for the analyst.
"use strict";
const list = document.getElementById("institutions");
let known = {};
document.querySelectorAll("input.institution").forEach((input) => {
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (q.length < 2) return;
    const found = await (await fetch(`/api/annotate/institutions?q=${encodeURIComponent(q)}`)).json();
    list.textContent = "";
    found.forEach((inst) => {
      known[inst.name] = inst;
      const option = document.createElement("option");
      option.value = inst.name;
      option.textContent = `${inst.name} (${inst.country})`;
      list.appendChild(option);
    });
  });
  input.addEventListener("change", () => {
    const inst = known[input.value];
    if (!inst) return;
    const stage = input.dataset.stage;
    document.getElementById(`${stage}_country`).value = inst.country;
    if (stage === "work") document.getElementById("work_sector").value = inst.sector;
  });
});
