// Approving a sign-in on a desktop: the second-step page follows the
// request over Server-Sent Events and, once a desktop approves, submits the
// form that finishes the sign-in. Loaded as a file (the CSP allows
// script-src 'self' only); without it, people press the button after
// approving.
(function () {
  'use strict';

  var words = {
    approved: 'Approved — signing you in…',
    denied: 'The request was denied.',
    reported: 'The sign-in was blocked.',
    expired: 'The request expired.'
  };
  var lost = 'Lost contact with the server; press the button after approving.';

  // show puts text in the status line, with a link for a new request when
  // asked.
  function show(status, text, offerNew) {
    status.textContent = text;
    if (offerNew) {
      var a = document.createElement('a');
      a.id = 'approval-new';
      a.href = '/signin/verify?method=approve&new=1';
      a.textContent = 'Send a new request';
      status.appendChild(document.createTextNode(' '));
      status.appendChild(a);
    }
  }

  function settle(status, form, state) {
    status.setAttribute('data-state', state);
    if (state === 'approved') {
      show(status, words.approved, false);
      form.submit();
      return;
    }
    ['approval-prompt', 'approval-number'].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        el.hidden = true;
      }
    });
    form.hidden = true;
    show(status, words[state] || words.expired, state !== 'reported');
  }

  function follow(status, form) {
    var retried = false;
    var done = false;
    function connect() {
      var source = new EventSource('/signin/approval/stream');
      source.addEventListener('decided', function (ev) {
        done = true;
        source.close();
        var state = '';
        try {
          state = JSON.parse(ev.data).status;
        } catch (e) {
          state = '';
        }
        settle(status, form, state);
      });
      source.onerror = function () {
        source.close();
        if (done) {
          return;
        }
        if (!retried) {
          retried = true;
          window.setTimeout(connect, 1000);
          return;
        }
        show(status, lost, false);
      };
    }
    connect();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var status = document.getElementById('approval-status');
    var form = document.getElementById('approval-complete-form');
    if (!status || !form || status.getAttribute('data-state') !== 'pending' || !window.EventSource) {
      return;
    }
    follow(status, form);
  });
})();
