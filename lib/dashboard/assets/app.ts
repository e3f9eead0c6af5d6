import { API_JS } from './client/api';
import { CHART_JS } from './client/chart';
import { DETAIL_JS } from './client/detail';
import { DOM_JS } from './client/dom';
import { LIST_JS } from './client/list';
import { MAIN_JS } from './client/main';

/**
 * The dashboard's script, served as /dashboard/app.js. It is plain JavaScript
 * kept in TypeScript strings so the api Lambda's bundle carries it with no
 * build step or file reads; the parts share one function scope, and main runs last.
 */
export const APP_JS = ['"use strict";', '(function () {', DOM_JS, API_JS, CHART_JS, LIST_JS, DETAIL_JS, MAIN_JS, '})();', ''].join('\n');
