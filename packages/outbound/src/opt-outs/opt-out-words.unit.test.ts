import { describe, expect, it } from "vitest";
import { OPT_OUT_WORDS, RESUME_WORDS, normalizeOptOutText, optOutIntent } from "./opt-out-words.js";

describe("the candidate's opt-out words", () => {
  it.each([
    "STOP",
    "stop",
    " Stop ! ",
    "STOP.",
    "« stop »",
    "stop 🙏",
    "ＳＴＯＰ",
    "ARRET",
    "ARRÊT",
    "arrêt",
    "Arrêter",
    "DESABONNER",
    "DÉSABONNER",
    "désabonner !",
    "UNSUBSCRIBE",
    "Unsubscribe.",
    "stop\u200b",
    "توقف",
    "تَوَقَّفْ",
    "تـــوقـف",
    "إلغاء",
    "الغاء",
    "إِلْغَاء",
    "إلغاء الاشتراك",
  ])("%j is an opt-out", (text) => {
    expect(optOutIntent(text)).toBe("opt_out");
  });

  it.each(["START", "start", "Reprendre", "REPRENDRE !", "ابدأ"])("%j is a resume word", (text) => {
    expect(optOutIntent(text)).toBe("resume");
  });

  it.each([
    "stop, je viens demain",
    "Je voulais pas arrêter",
    "stopper",
    "nonstop",
    "don't stop",
    "STOP STOP",
    "start-up",
    "startup",
    "reprendre demain",
    "توقف عن الكلام",
    "اتوقف",
    "Bonjour",
    "",
    "   ",
    "!!!",
  ])("%j is an ordinary message, never an opt-out", (text) => {
    expect(optOutIntent(text)).toBeNull();
  });

  it("a missing text or a long message is never read as a word", () => {
    expect(optOutIntent(null)).toBeNull();
    expect(optOutIntent(undefined)).toBeNull();
    expect(optOutIntent(`stop${" ".repeat(100)}`)).toBeNull();
  });

  it("normalises case, accents, punctuation, whitespace, tatweel and Arabic diacritics", () => {
    expect(normalizeOptOutText("  DÉS-abonner\t\n ")).toBe("des abonner");
    expect(normalizeOptOutText("تَـوَقَّـفْ")).toBe("توقف");
    expect(normalizeOptOutText("آمين")).toBe("امين");
    expect(normalizeOptOutText("على")).toBe("علي");
  });

  it("every listed word is written in its normalised form (else it could never match)", () => {
    for (const w of [...OPT_OUT_WORDS, ...RESUME_WORDS]) expect(normalizeOptOutText(w)).toBe(w);
    expect(OPT_OUT_WORDS.filter((w) => RESUME_WORDS.includes(w))).toEqual([]);
  });
});
