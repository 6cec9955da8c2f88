// Passkeys (WebAuthn): a form with data-passkey="get" (sign in) or "create" (add one) and the
// server's options in data-options (JSON). On submit, the browser's authenticator answers;
// the answer goes in the form's hidden "credential" field and the form is posted.
(function () {
  var form = document.querySelector("form[data-passkey]");
  if (!form || !window.PublicKeyCredential) return;
  var mode = form.getAttribute("data-passkey");
  var problem = document.getElementById("passkey-problem");
  form.addEventListener("submit", function (event) {
    if (form.elements.credential.value) return;  // the answer is in: post it
    event.preventDefault();
    var options = JSON.parse(form.getAttribute("data-options"));
    var asked = mode === "create"
      ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
      : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    asked.then(function (credential) {
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    }).catch(function () {
      if (problem) problem.hidden = false;
    });
  });
})();
