/* Starts Swagger UI on templates/api/swagger.html.
 * Kept in a static file (no inline script) so the page works under a
 * Content-Security-Policy without 'unsafe-inline' for scripts. The spec URL
 * comes from the data-spec-url attribute of #swagger-ui. */
(function () {
  'use strict';

  function start() {
    var el = document.getElementById('swagger-ui');
    if (!el || typeof window.SwaggerUIBundle !== 'function') {
      return;
    }
    window.ui = window.SwaggerUIBundle({
      url: el.getAttribute('data-spec-url'),
      dom_id: '#swagger-ui',
      presets: [
        window.SwaggerUIBundle.presets.apis,
        window.SwaggerUIStandalonePreset
      ],
      layout: 'BaseLayout',
      deepLinking: true,
      persistAuthorization: true,
      // Never send the spec to the public online validator.
      validatorUrl: null
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
