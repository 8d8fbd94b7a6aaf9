// Live fragments (webview/fragments.js), for the pages that show them: a page adds this
// after the shell's bundle; both are deferred, so it runs after that one and before the
// page connects.
import { mountFragments } from "./webview/fragments.js";

mountFragments(window.webviewKit);
