// Progressive enhancement only: every page works with JavaScript off. This turns on the
// NHS.UK frontend's components (header menu, error summary focus, skip link).
import { initAll } from './nhsuk-frontend.min.js'

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported')
initAll()
