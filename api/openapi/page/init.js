// The /docs page's script (a file, not inline, so the page's CSP can refuse
// inline scripts). Every operation and its answers are open without a click,
// and nothing is fetched from the internet (no validator badge): the page
// works offline.
/* global window, SwaggerUIBundle */
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    docExpansion: 'full',
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
