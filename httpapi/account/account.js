// The account pages: the token of the mail's link stays in this page; a
// press of the button posts it, as JSON, to the API of the same origin, and
// the page says what happened in words. Opening the page sends nothing.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const page = document.getElementById("page");
  const form = document.getElementById("form");
  const button = document.getElementById("submit");
  const result = document.getElementById("result");
  const token = new URLSearchParams(window.location.search).get("token") || "";

  // say shows text, its class "ok", "fail" or, while the request is
  // under way, "pending".
  const say = (text, ok) => {
    result.textContent = text;
    result.className = ok === null ? "pending" : ok ? "ok" : "fail";
  };

  if (token === "") {
    say("This link has no token. Open the link of the mail you received, whole.", false);
    button.disabled = true;
    return;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { token: token };
    if (page.dataset.kind === "reset-password") {
      const pw = document.getElementById("new-password").value;
      if (pw !== document.getElementById("repeat-password").value) {
        say("The two passwords differ. Type the same new password twice.", false);
        return;
      }
      body.new_password = pw;
      const otp = document.getElementById("otp").value.trim();
      if (otp !== "") {
        body.otp = otp;
      }
    }
    button.disabled = true;
    say("Sending…", null);
    try {
      const res = await fetch(page.dataset.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
      const answer = await res.json().catch(() => ({}));
      if (res.ok) {
        say(successText[page.dataset.kind] || answer.message || "Done.", true);
        form.hidden = true;
        return;
      }
      // A 400 names the failing fields: say why, in the API's words.
      const why = answer.errors ? Object.values(answer.errors).join(" ") : "";
      say("It did not work: " + (why || answer.message || ("the service answered " + res.status)) + ".", false);
    } catch (err) {
      say("The service could not be reached. Try again in a moment.", false);
    }
    button.disabled = false;
  });
});

const successText = {
  "verify-email": "Your email address is verified. You can close this page.",
  "reset-password": "Your password has been reset. Sign in with the new one; every other session was signed out.",
  "confirm-email": "Your email address has been changed. Sign in with the new address from now on.",
};
