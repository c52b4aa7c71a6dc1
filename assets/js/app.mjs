// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// A page restored from the browser's back-forward cache could show answers the resident
// has since deleted ("Exit this page", "Clear my answers"): ask the server again instead.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

// A copy button beside a link's address; without JavaScript the address is plain text.
for (const element of document.querySelectorAll("[data-copy]")) {
  if (!navigator.clipboard) break;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "govuk-button govuk-button--secondary app-copy";
  button.textContent = "Copy address";
  const status = document.createElement("span");
  status.className = "govuk-body-s app-copy__status";
  status.setAttribute("role", "status");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(element.dataset.copy);
      status.textContent = "Address copied";
    } catch {
      status.textContent = "Could not copy: select the address and copy it";
    }
  });
  element.after(button, status);
}
