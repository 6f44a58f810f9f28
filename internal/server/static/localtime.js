// Times on the pages come in UTC (what a page without scripts shows); this
// rewrites each <time data-local> in the viewer's own time zone, naming the
// zone ("7 Dec 2026, 14:05 CET"). Loaded as a file (the CSP allows
// script-src 'self' only).
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    if (!window.Intl || !Intl.DateTimeFormat) {
      return;
    }
    var format = new Intl.DateTimeFormat(undefined, {
      day: 'numeric', month: 'short', year: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short'
    });
    document.querySelectorAll('time[data-local]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (!isNaN(d.getTime())) {
        el.textContent = format.format(d);
        el.title = el.getAttribute('datetime');
      }
    });
  });
})();
