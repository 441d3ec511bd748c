// Residents' LIFF pages. Every page initialises LIFF (LINE's SDK, or linesim's stand-in); the
// sign-in page sends LIFF's ID token to the server, which has LINE verify it, then loads again.
// The registration form gets rows for children's birthdates and hides the district for visitors.
"use strict";

function liffReady() {
  const liffId = document.body.dataset.liffId;
  if (!liffId || !window.liff) return Promise.reject(new Error("LIFF is not available"));
  return window.liff.init({ liffId });
}

function showSigninError(text) {
  const status = document.getElementById("signin-status");
  const error = document.getElementById("signin-error");
  if (status) status.hidden = true;
  document.querySelector(".spinner")?.setAttribute("hidden", "");
  error.textContent = text;
  error.hidden = false;
}

async function signIn(box) {
  try {
    await liffReady();
  } catch {
    showSigninError(box.dataset.errorOutside);
    return;
  }
  const liff = window.liff;
  if (!liff.isLoggedIn()) {
    if (liff.isInClient()) {
      showSigninError(box.dataset.error);
      return;
    }
    try {
      liff.login({ redirectUri: location.href }); // outside LINE: LINE Login, then back here
    } catch {
      showSigninError(box.dataset.errorOutside);
    }
    return;
  }
  const idToken = liff.getIDToken();
  if (!idToken) {
    showSigninError(box.dataset.error);
    return;
  }
  const csrf = box.querySelector("input[name=csrfmiddlewaretoken]").value;
  try {
    const response = await fetch(box.dataset.sessionUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf },
      body: new URLSearchParams({ id_token: idToken, channel: box.dataset.channel }),
    });
    if (response.ok) {
      location.reload();
      return;
    }
    const answer = await response.json().catch(() => ({}));
    showSigninError(answer.error || box.dataset.error);
  } catch {
    showSigninError(box.dataset.error);
  }
}

function wireChildren() {
  const list = document.getElementById("children");
  const template = document.getElementById("child-template");
  const add = document.getElementById("add-child");
  if (!list || !template || !add) return;
  const MAX = 10;
  const refresh = () => {
    add.hidden = list.children.length >= MAX;
  };
  add.addEventListener("click", () => {
    const row = template.content.firstElementChild.cloneNode(true);
    list.append(row);
    row.querySelector("input").focus();
    refresh();
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-child]");
    if (!button) return;
    const row = button.closest(".child");
    if (list.children.length > 1) row.remove();
    else row.querySelector("input").value = ""; // the last row stays, empty
    refresh();
    add.focus();
  });
  refresh();
}

function wireDistrict() {
  // Visitors and people thinking of moving here have no district to choose.
  const district = document.querySelector("[data-district]");
  const audience = document.querySelectorAll("input[name=audience]");
  if (!district || !audience.length) return;
  const update = () => {
    const chosen = document.querySelector("input[name=audience]:checked");
    district.hidden = Boolean(chosen && chosen.value && chosen.value !== "resident");
  };
  audience.forEach((input) => input.addEventListener("change", update));
  update();
}

function start() {
  const box = document.getElementById("signin");
  if (box) {
    signIn(box);
  } else if (document.body.dataset.liffId) {
    liffReady().catch(() => {}); // for closeWindow; the page works without it
  }
  document.querySelectorAll("[data-liff-close]").forEach((button) => {
    button.addEventListener("click", () => {
      if (window.liff && window.liff.isInClient()) window.liff.closeWindow();
      else window.close();
    });
  });
  wireChildren();
  wireDistrict();
  document.getElementById("errors")?.focus();
}

start();
