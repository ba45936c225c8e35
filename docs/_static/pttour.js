/* The language switcher keeps the reader's place: the section (#fragment) and the search query
 * (?q=...) of this page are the same in the other language. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const keepPlace = () => {
    for (const link of document.querySelectorAll("a.pttour-language-switcher")) {
      const url = new URL(link.href);
      url.search = window.location.search;
      url.hash = window.location.hash;
      link.href = url.href;
    }
  };
  keepPlace();
  window.addEventListener("hashchange", keepPlace);
});
