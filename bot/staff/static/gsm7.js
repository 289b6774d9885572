// The live character and text count under a reply box (the server shows it again after sending).
// It mirrors bot/gsm7.py: look-alikes are replaced, extension characters count twice, and a
// reply longer than 160 goes as several single texts split between words.
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";
  var SWAP = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u201c": "\"", "\u201d": "\"", "\u201e": "\"", "\u2033": "\"", "\u00ab": "\"",
    "\u00bb": "\"", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-",
    "\u2010": "-", "\u2011": "-", "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u2002": " ", "\u2003": " ", "\u200b": "", "\u200d": "", "\ufe0f": "",
    "\t": " ", "\u2022": "-", "\u00b7": "-", "\u2122": "TM", "\u00a9": "(c)", "\u00ae": "(R)",
    "\u00ad": "", "\u2190": "<-", "\u2192": "->", "\u2264": "<=", "\u2265": ">=", "\u00d7": "x"};
  function ok(ch) { return BASIC.indexOf(ch) >= 0 || EXTENDED.indexOf(ch) >= 0; }
  function shape(text) {
    var out = "", changed = [];
    Array.from(text).forEach(function (ch) {
      if (ok(ch)) { out += ch; return; }
      if (changed.indexOf(ch) < 0) { changed.push(ch); }
      if (Object.prototype.hasOwnProperty.call(SWAP, ch)) { out += SWAP[ch]; return; }
      Array.from(ch.normalize("NFKD")).forEach(function (c) { if (ok(c)) { out += c; } });
    });
    return {text: out, changed: changed};
  }
  function len(text) {
    var n = 0;
    Array.from(text).forEach(function (ch) { n += EXTENDED.indexOf(ch) >= 0 ? 2 : 1; });
    return n;
  }
  function parts(text) {
    if (!text) { return 0; }
    if (len(text) <= 160) { return 1; }
    var count = 0, current = "";
    text.split(" ").forEach(function (word) {
      var candidate = current ? current + " " + word : word;
      if (len(candidate) <= 160) { current = candidate; return; }
      if (current) { count += 1; }
      while (len(word) > 160) { count += 1; word = word.slice(160); }
      current = word;
    });
    return count + (current ? 1 : 0);
  }
  function update(box, out) {
    var raw = box.value.trim();
    if (box.dataset.channel === "telegram") {
      out.textContent = raw.length + " characters (Telegram: no texts to count).";
      return;
    }
    var shaped = shape(raw), n = parts(shaped.text);
    var line = len(shaped.text) + " characters, " + n + (n === 1 ? " text" : " texts");
    if (shaped.changed.length) {
      line += "; a basic phone can't show " + shaped.changed.join(" ") + ", so they will be changed";
    }
    out.textContent = line + ".";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("text"), out = document.getElementById("count");
    if (!box || !out) { return; }
    box.addEventListener("input", function () { update(box, out); });
    update(box, out);
  });
}());
