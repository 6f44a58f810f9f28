// Security keys and passkeys in the browser: registering one on the
// security page, using a key for the second step of a sign-in, and signing
// in with a passkey (a button, and the login field's autofill through
// conditional mediation). Loaded as a file (the CSP allows script-src
// 'self' only); it acts on the elements it finds.
(function () {
  'use strict';

  // base64url (no padding) to ArrayBuffer.
  function fromB64url(s) {
    s = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) {
      s += '=';
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  // ArrayBuffer (or view) to base64url without padding.
  function toB64url(buf) {
    if (!buf) {
      return null;
    }
    var bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute('content') : '';
  }

  // postJSON posts body and resolves with the parsed answer; a non-2xx
  // answer rejects with the server's message.
  function postJSON(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrfToken(), 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : {};
        } catch (e) {
          data = null;
        }
        if (!resp.ok) {
          var msg = data && typeof data.error === 'string' && data.error ? data.error : 'The server could not do that (' + resp.status + '). Please try again.';
          throw new ServerError(msg);
        }
        return data || {};
      });
    });
  }

  function ServerError(message) {
    this.name = 'ServerError';
    this.message = message;
  }
  ServerError.prototype = Object.create(Error.prototype);

  // plainWords turns a failure into a sentence for people; what names the
  // thing asked for ("security key" unless said).
  function plainWords(err, what) {
    what = what || 'security key';
    if (err instanceof ServerError) {
      return err.message;
    }
    switch (err && err.name) {
      case 'NotAllowedError':
        return 'The ' + what + ' request was cancelled or timed out. Please try again.';
      case 'InvalidStateError':
        return 'This ' + what + ' is already registered with your account.';
      case 'NotSupportedError':
        return 'This ' + what + ' or browser does not support what is needed.';
      case 'SecurityError':
        return 'The browser refused the request for this site.';
      case 'AbortError':
        return 'The ' + what + ' request was cancelled.';
      case 'TypeError':
        return 'Could not reach the server. Check your connection and try again.';
    }
    return 'Something went wrong with the ' + what + '. Please try again.';
  }

  // showError shows err in the box with id boxId (the security key's box
  // unless said); what is as plainWords has it.
  function showError(err, boxId, what) {
    var box = document.getElementById(boxId || 'security-key-error');
    var text = typeof err === 'string' ? err : plainWords(err, what);
    if (box) {
      box.setAttribute('role', 'alert');
      box.textContent = text;
      box.hidden = false;
    }
  }

  function clearError(boxId) {
    var box = document.getElementById(boxId || 'security-key-error');
    if (box) {
      box.textContent = '';
    }
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  // creationOptions decodes the server's CredentialCreation JSON.
  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    if (pk.excludeCredentials) {
      pk.excludeCredentials = pk.excludeCredentials.map(function (c) {
        return Object.assign({}, c, { id: fromB64url(c.id) });
      });
    }
    var out = { publicKey: pk };
    if (options.mediation) {
      out.mediation = options.mediation;
    }
    return out;
  }

  // requestOptions decodes the server's CredentialAssertion JSON.
  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = fromB64url(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = pk.allowCredentials.map(function (c) {
        return Object.assign({}, c, { id: fromB64url(c.id) });
      });
    }
    var out = { publicKey: pk };
    if (options.mediation) {
      out.mediation = options.mediation;
    }
    return out;
  }

  function extensionResults(cred) {
    try {
      return cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
    } catch (e) {
      return {};
    }
  }

  function registrationJSON(cred) {
    var resp = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toB64url(resp.clientDataJSON),
        attestationObject: toB64url(resp.attestationObject)
      },
      clientExtensionResults: extensionResults(cred)
    };
    if (typeof resp.getTransports === 'function') {
      out.response.transports = resp.getTransports();
    }
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    return out;
  }

  function assertionJSON(cred) {
    var resp = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: toB64url(resp.clientDataJSON),
        authenticatorData: toB64url(resp.authenticatorData),
        signature: toB64url(resp.signature)
      },
      clientExtensionResults: extensionResults(cred)
    };
    if (resp.userHandle && resp.userHandle.byteLength > 0) {
      out.response.userHandle = toB64url(resp.userHandle);
    }
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    return out;
  }

  // setupRegistration runs a "register" button of the security page: the
  // security keys' (kind.button 'add-security-key') or the passkeys'.
  // kind names its button, name field, error box, endpoints and words.
  function setupRegistration(kind) {
    var button = document.getElementById(kind.button);
    if (!button) {
      return;
    }
    button.addEventListener('click', function (ev) {
      ev.preventDefault();
      if (!supported()) {
        showError(kind.unsupported, kind.errorBox);
        return;
      }
      var nameInput = document.getElementById(kind.nameInput);
      var name = nameInput ? nameInput.value.trim() : '';
      button.disabled = true;
      clearError(kind.errorBox);
      postJSON(kind.path + '/begin', {})
        .then(function (begin) {
          return navigator.credentials.create(creationOptions(begin.options)).then(function (cred) {
            if (!cred) {
              throw new DOMException('no credential', 'NotAllowedError');
            }
            return postJSON(kind.path + '/finish', {
              challenge_id: begin.challenge_id,
              name: name,
              credential: registrationJSON(cred)
            });
          });
        })
        .then(function () {
          location.reload();
        })
        .catch(function (err) {
          showError(err, kind.errorBox, kind.what);
          button.disabled = false;
        });
    });
  }


  function setupSignIn() {
    var button = document.getElementById('use-security-key');
    if (!button) {
      return;
    }
    button.addEventListener('click', function (ev) {
      ev.preventDefault();
      if (!supported()) {
        showError('This browser cannot use security keys.');
        return;
      }
      var remember = document.getElementById('remember');
      button.disabled = true;
      clearError();
      postJSON('/signin/key/begin', {})
        .then(function (begin) {
          return navigator.credentials.get(requestOptions(begin.options)).then(function (cred) {
            if (!cred) {
              throw new DOMException('no credential', 'NotAllowedError');
            }
            return postJSON('/signin/key/finish', {
              challenge_id: begin.challenge_id,
              credential: assertionJSON(cred),
              remember: !!(remember && remember.checked)
            });
          });
        })
        .then(function (done) {
          var target = done && typeof done.redirect === 'string' && done.redirect.charAt(0) === '/' && done.redirect.charAt(1) !== '/' ? done.redirect : '/account/security';
          location.assign(target);
        })
        .catch(function (err) {
          showError(err);
          button.disabled = false;
        });
    });
  }

  // safeTarget is where a finished sign-in goes: the server's redirect
  // when it is a path on this site.
  function safeTarget(done) {
    var to = done && done.redirect;
    return typeof to === 'string' && to.charAt(0) === '/' && to.charAt(1) !== '/' ? to : '/account/security';
  }



  // setupPasskeySignIn runs the sign-in page's passkeys: the login field's
  // autofill offers them (conditional mediation, started on load where the
  // browser has it) and the button asks for one. The button aborts the
  // autofill's request first: a browser runs one at a time.
  function setupPasskeySignIn() {
    var box = document.getElementById('passkey-signin');
    var button = document.getElementById('signin-passkey');
    if (!box || !button) {
      return;
    }
    var next = box.getAttribute('data-next') || '';
    var waiting = null; // the autofill's AbortController

    // signIn asks for a passkey (mediation: 'conditional' or undefined)
    // and finishes the sign-in with it.
    function signIn(mediation, signal) {
      return postJSON('/signin/passkey/begin', {}).then(function (begin) {
        var opts = requestOptions(begin.options);
        if (mediation) {
          opts.mediation = mediation;
        }
        if (signal) {
          opts.signal = signal;
        }
        return navigator.credentials.get(opts).then(function (cred) {
          if (!cred) {
            throw new DOMException('no credential', 'NotAllowedError');
          }
          return postJSON('/signin/passkey/finish', {
            challenge_id: begin.challenge_id,
            credential: assertionJSON(cred),
            next: next
          });
        });
      }).then(function (done) {
        location.assign(safeTarget(done));
      });
    }

    function autofill() {
      if (!supported() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function' || typeof AbortController === 'undefined') {
        return;
      }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) {
          return;
        }
        var ctrl = new AbortController();
        waiting = ctrl;
        signIn('conditional', ctrl.signal).catch(function (err) {
          if (ctrl.signal.aborted || (err && err.name === 'AbortError')) {
            return; // the button took over
          }
          showError(err, 'passkey-signin-error', 'passkey');
        });
      }).catch(function () {});
    }

    button.addEventListener('click', function (ev) {
      ev.preventDefault();
      if (!supported()) {
        showError('This browser cannot sign in with passkeys. Use your email or mobile number and password.', 'passkey-signin-error');
        return;
      }
      if (waiting) {
        waiting.abort();
        waiting = null;
      }
      button.disabled = true;
      clearError('passkey-signin-error');
      signIn(undefined, undefined).catch(function (err) {
        showError(err, 'passkey-signin-error', 'passkey');
        button.disabled = false;
      });
    });
    autofill();
  }

  document.addEventListener('DOMContentLoaded', function () {
    setupRegistration({button: 'add-security-key', nameInput: 'security-key-name', errorBox: 'security-key-error',
      path: '/account/security-keys', unsupported: 'This browser cannot use security keys.'});
    setupSignIn();
    setupRegistration({button: 'create-passkey', nameInput: 'passkey-name', errorBox: 'passkey-error',
      path: '/account/passkeys', unsupported: 'This browser cannot create passkeys.', what: 'passkey'});
    setupPasskeySignIn();
  });
})();
