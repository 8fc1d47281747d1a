// The API documentation page (/docs): Swagger UI from assets this server serves (the
// fastapi-offline package), started here rather than in an inline script, which the
// Content-Security-Policy does not allow.
"use strict";
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi, dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
