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

// Confirming an inferred value is the analyst's act: the button fills the stage with it and
// marks it confirmed; editing the stage afterwards makes it the analyst's own value again
// (the server also records a confirmation only when the value saved is the inferred one).
document.querySelectorAll("button.confirm").forEach((button) => {
  const stage = button.dataset.stage;
  const marker = document.getElementById(`${stage}_confirmed`);
  button.addEventListener("click", () => {
    document.getElementById(`${stage}_institution`).value = button.dataset.institution;
    document.getElementById(`${stage}_country`).value = button.dataset.country;
    if (stage === "work" && button.dataset.sector) document.getElementById("work_sector").value = button.dataset.sector;
    document.getElementById(`${stage}_undetermined`).checked = false;
    marker.value = "1";
  });
  [`${stage}_institution`, `${stage}_country`].forEach((id) =>
    document.getElementById(id).addEventListener("input", () => { marker.value = ""; }));
});
