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
