// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// A page restored from the browser's back-forward cache could show answers the resident
// has since deleted ("Exit this page", "Clear my answers"): ask the server again instead.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});
