// The API documentation pages (/docs, /redoc), from assets served by this server (the
// fastapi-offline package) and started here rather than in an inline script, which the
// Content-Security-Policy does not allow.
"use strict";
const swagger = document.getElementById("swagger-ui");
const redoc = document.getElementById("redoc");
if (swagger) {
  window.ui = SwaggerUIBundle({
    url: swagger.dataset.openapi, dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
} else if (redoc) {
  Redoc.init(redoc.dataset.openapi, {}, redoc);
}
