// Progressive enhancement only: every page works with JavaScript off. This turns on the
// NHS.UK frontend's components (header menu, error summary focus, skip link).
import { initAll } from './nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()

// The print view's button: without JavaScript the browser's own Print does the same.
const printNow = document.getElementById('print-now')
if (printNow) {
  printNow.hidden = false
  printNow.addEventListener('click', () => window.print())
}

// On a phone the worklist's filters fold away above the results (open without JavaScript,
// and on wider screens, so nothing is ever hidden from a page that cannot unfold it).
const filters = document.getElementById('worklist-filters')
if (filters && window.matchMedia('(max-width: 640px)').matches) {
  filters.open = false
}
