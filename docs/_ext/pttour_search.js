/*
 * pttour's search: Sphinx puts this file (html_search_scorer in conf.py) into
 * language_data.js, ahead of its own defaults, on both sites.
 *
 * 1. splitQuery: the Chinese index was segmented with jieba at build time, but a reader types
 *    a query without spaces ("梯度清零"). Each run of Chinese characters is split the way the
 *    index was, by forward maximum matching over the index's own words: the longest word of
 *    the index that starts here, then on from its end. Characters that start no indexed word
 *    are dropped when alone (the index keeps no single characters) and kept together
 *    otherwise. No dictionary to download: the index is the dictionary.
 * 2. Scorer.score: a tutorial page ranks above an API object or another page for the same
 *    words, and a page whose title holds the query's words ranks above one that only
 *    mentions them.
 * 3. Search.makeSearchSummary: the snippet under a result is the sentence of the page that
 *    holds most of the query's words, from its prose first (paragraphs, list items, captions),
 *    then from anything else in it (headings, code). Never from the page's chrome, which
 *    Sphinx's own snippet often quotes because it comes first: breadcrumbs, the links at the
 *    top of a tutorial, downloads, "On this page", the footers.
 */
"use strict";

var PttourSearch = {
  // the tutorials are the gallery's pages (conf.py: sphinx_gallery_conf["gallery_dirs"])
  tutorialPage: /^auto_tutorials\/(?!index$)[^/]+$/,
  tutorialBonus: 20,
  titleWordBonus: 8,
  han: /\p{Script=Han}/u,
  words: null, // the index's words, built on first use
  longest: 1,
  lastQueryWords: [],

  vocabulary: () => {
    if (PttourSearch.words === null) {
      const index = typeof Search !== "undefined" ? Search._index : null;
      if (!index) return new Set(); // the index is not loaded yet: nothing to match against
      PttourSearch.words = new Set([
        ...Object.keys(index.terms || {}),
        ...Object.keys(index.titleterms || {}),
      ]);
      for (const word of PttourSearch.words) {
        if (PttourSearch.han.test(word)) {
          PttourSearch.longest = Math.max(PttourSearch.longest, [...word].length);
        }
      }
    }
    return PttourSearch.words;
  },

  chrome: [
    "script",
    "style",
    ".headerlink",
    ".bd-header-article",
    ".bd-sidebar-secondary",
    ".pttour-actions",
    ".sphx-glr-download-link-note",
    ".sphx-glr-footer",
    ".bd-footer-article",
    ".prev-next-footer",
    ".bd-footer-content",
  ].join(", "),
  prose: "p, li, dt, dd, figcaption, caption, td, th",
  snippetLength: 240,
  sentenceEnd: /(?<=[.!?])\s+|(?<=[。！？])/u,

  // The sentence of `scope` that holds most of `words` (lower case): from its prose, else from
  // its code (line by line) and headings but the first (the result's title shows it); with none
  // of the words in it, the first sentence of its prose.
  bestSentence: (scope, words) => {
    const sentences = (elements) =>
      elements.flatMap((element) =>
        element.tagName === "PRE"
          ? element.textContent.split("\n")
          : element.textContent.replace(/\s+/g, " ").split(PttourSearch.sentenceEnd),
      );
    const prose = sentences([...scope.querySelectorAll(PttourSearch.prose)]);
    const headings = [...scope.querySelectorAll("pre, h1, h2, h3, h4, h5, h6")];
    const title = headings.find((element) => element.tagName !== "PRE");
    const rest = sentences(headings.filter((element) => element !== title));
    for (const candidates of [prose, rest]) {
      let [best, bestCount] = ["", 0];
      for (const sentence of candidates) {
        const lower = sentence.toLowerCase();
        const count = words.filter((word) => lower.includes(word)).length;
        if (count > bestCount) [best, bestCount] = [sentence, count];
      }
      if (best) return best.trim();
    }
    return (prose.find((sentence) => sentence.trim()) || "").trim();
  },

  // The snippet of one result: its best sentence, cut around the first word when it is long.
  summary: (htmlText, keywords, anchor) => {
    const page = new DOMParser().parseFromString(htmlText, "text/html");
    page.querySelectorAll(PttourSearch.chrome).forEach((element) => element.remove());
    const main = page.querySelector('[role="main"]');
    let scope = main;
    try {
      scope = (anchor && main?.querySelector(anchor)) || main;
    } catch (error) {} // an anchor that is no CSS selector: the whole page
    // the stemmed words Sphinx searched for, and the words as typed ("saving" stems to "save")
    const words = [...new Set([...keywords, ...PttourSearch.lastQueryWords])]
      .map((word) => word.toLowerCase())
      .filter((word) => word);
    let text = scope ? PttourSearch.bestSentence(scope, words) : "";
    const length = PttourSearch.snippetLength;
    if (text.length > length) {
      const lower = text.toLowerCase();
      const found = words.map((word) => lower.indexOf(word)).filter((i) => i > -1);
      const first = found.length ? Math.min(...found) : 0;
      const start = Math.max(0, Math.min(first - length / 3, text.length - length));
      const tail = start + length < text.length ? "…" : "";
      text = (start > 0 ? "…" : "") + text.substr(start, length).trim() + tail;
    }
    const summary = document.createElement("p");
    summary.classList.add("context");
    summary.textContent = text;
    return summary;
  },

  // Forward maximum matching of one run of Chinese characters.
  segment: (run) => {
    const words = PttourSearch.vocabulary();
    const chars = [...run];
    const out = [];
    let unknown = "";
    const flush = () => {
      if ([...unknown].length > 1) out.push(unknown);
      unknown = "";
    };
    let i = 0;
    while (i < chars.length) {
      let found = 0;
      for (let n = Math.min(PttourSearch.longest, chars.length - i); n > 1; n--) {
        if (words.has(chars.slice(i, i + n).join(""))) {
          found = n;
          break;
        }
      }
      if (found) {
        flush();
        out.push(chars.slice(i, i + found).join(""));
        i += found;
      } else {
        unknown += chars[i];
        i += 1;
      }
    }
    flush();
    return out;
  },
};

var splitQuery = (query) => {
  const terms = [];
  query
    .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
    .filter((term) => term)
    .forEach((term) => {
      // split mixed runs ("torch张量") into Latin and Chinese parts, then segment the Chinese
      for (const part of term.match(/\p{Script=Han}+|[^\p{Script=Han}]+/gu)) {
        if (PttourSearch.han.test(part)) terms.push(...PttourSearch.segment(part));
        else terms.push(part);
      }
    });
  PttourSearch.lastQueryWords = terms.map((term) => term.toLowerCase());
  return terms;
};

// searchtools.js, loaded before this file, calls it for each result it lists.
if (typeof Search !== "undefined") Search.makeSearchSummary = PttourSearch.summary;

var Scorer = {
  score: (result) => {
    const [docname, title, , , score, , kind] = result;
    let bonus = 0;
    if (kind !== "object" && PttourSearch.tutorialPage.test(docname)) {
      bonus += PttourSearch.tutorialBonus;
    }
    const pageTitle = String(title || "").split(" > ")[0].toLowerCase();
    for (const word of new Set(PttourSearch.lastQueryWords)) {
      if (word.length > 1 && pageTitle.includes(word)) bonus += PttourSearch.titleWordBonus;
    }
    return score + bonus;
  },

  // Sphinx's defaults for everything else
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: {
    0: 15,
    1: 5,
    2: -5,
  },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
