// Starts Swagger UI. Kept out of index.html so that the page runs under a
// Content-Security-Policy that allows no inline script.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Keep the token pasted into "Authorize" across reloads of the page.
  persistAuthorization: true,
  // No badge from the public validator service: nothing leaves this origin.
  validatorUrl: null,
});
