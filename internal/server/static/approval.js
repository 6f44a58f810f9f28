// Approving a sign-in on a desktop: the second-step page follows the
// request over Server-Sent Events and, once a desktop approves, submits the
// form that finishes the sign-in, counting down the time the request has
// left. While it follows the request the "I approved it" button is hidden
// (there is nothing to press); it comes back when contact is lost. Loaded
// as a file (the CSP allows script-src 'self' only); without it, people
// press the button after approving.
(function () {
  'use strict';

  var words = {
    approved: 'Approved — signing you in…',
    denied: 'The request was denied.',
    reported: 'The sign-in was blocked.',
    expired: 'The request expired.'
  };
  var lost = 'Lost contact with the server; press the button after approving.';
  var retrying = 'Lost contact with the server; trying again… (or press the button after approving)';
  // The page keeps reconnecting, 1 s, 2 s, 4 s and then every 5 s apart,
  // for longer than a request lives; a restarted server (systemd waits 5 s)
  // is found again by itself.
  var maxDelay = 5000;
  var giveUpAfter = 3 * 60 * 1000;

  // clearError removes the message the page came with (a wrong code, a
  // refused request): once the state changes it no longer applies.
  function clearError() {
    var e = document.getElementById('form-error');
    if (e) {
      e.remove();
    }
  }

  // button shows or hides the "I approved it" line.
  function button(visible) {
    var line = document.getElementById('approval-check-line');
    if (line) {
      line.hidden = !visible;
    }
  }

  // countdown shows the time the request has left, each second, from the
  // seconds the page was rendered with (the browser's clock may be off; the
  // elapsed time is not).
  function countdown() {
    var time = document.getElementById('approval-time');
    var left = document.getElementById('approval-left');
    if (!time || !left) {
      return function () {};
    }
    var end = Date.now() + 1000 * parseInt(time.getAttribute('data-left'), 10);
    var timer = window.setInterval(tick, 1000);
    function tick() {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      left.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
      if (s === 0) {
        window.clearInterval(timer);
      }
    }
    return function () {
      window.clearInterval(timer);
      time.hidden = true;
    };
  }

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
    clearError();
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
    var waiting = status.textContent;
    var stopCountdown = countdown();
    var done = false;
    var delay = 1000;
    var lostAt = 0; // when contact was lost; 0 while in contact
    function connect() {
      var source = new EventSource('/signin/approval/stream');
      source.onopen = function () {
        button(false);
        if (lostAt) {
          lostAt = 0;
          delay = 1000;
          clearError();
          show(status, waiting, false);
        }
      };
      source.addEventListener('decided', function (ev) {
        done = true;
        source.close();
        stopCountdown();
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
        var now = Date.now();
        if (!lostAt) {
          lostAt = now;
        }
        button(true);
        if (now - lostAt > giveUpAfter) {
          show(status, lost, false);
          return;
        }
        show(status, retrying, false);
        window.setTimeout(connect, delay);
        delay = Math.min(2 * delay, maxDelay);
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
