/**
 * The words a candidate writes to stop, or to resume, messages from a recruiter. A message counts
 * only when the whole of it is one of these words once normalised (`normalizeOptOutText`): "STOP",
 * "Stop !", "arrêt", full-width "ＳＴＯＰ" or "تَوَقَّفْ" do; "stop, je viens demain" or
 * "Je voulais pas arrêter" never do (peers that match substrings opt candidates out of their own
 * job offers: Chatwoot discussion #15196, capo-v1 #182).
 */

/** Words that stop every message (scope `all`), already normalised. */
export const OPT_OUT_WORDS: readonly string[] = [
  "stop",
  "arret",
  "arreter",
  "desabonner",
  "desabonnement",
  "desinscrire",
  "unsubscribe",
  "stop all",
  // Arabic: "stop", "cancel" (إلغاء, hamza dropped by normalisation), "cancel the subscription".
  "توقف",
  "الغاء",
  "الغاء الاشتراك",
];

/** Words that lift the candidate's own opt-out, already normalised. */
export const RESUME_WORDS: readonly string[] = ["start", "reprendre", "unstop", "ابدا"];

/** Arabic tatweel (kashida), a letter-stretching character with no meaning. */
const TATWEEL = /\u0640/g;
/** Combining marks: Latin accents after NFKD, Arabic harakat, shadda, sukun, hamza above/below, superscript alef. */
const MARKS = /\p{M}/gu;
/** Invisible format characters (zero-width joiners, direction marks). */
const FORMAT = /\p{Cf}/gu;
/** Punctuation and symbols (emoji included): "STOP!!!", "« Stop »", "stop 🙏". */
const PUNCTUATION = /[\p{P}\p{S}]/gu;
/** Arabic letter variants that people write interchangeably. */
const ARABIC_VARIANTS: Record<string, string> = { ى: "ي", ٱ: "ا" };

/**
 * Lower case, without accents, Arabic diacritics or tatweel, punctuation, symbols and invisible
 * characters, with runs of whitespace made one space and trimmed. Compatibility forms (full-width
 * letters, ligatures) are folded by NFKD; hamza carriers (أ إ آ) become a bare alef.
 */
export function normalizeOptOutText(text: string): string {
  return text
    .normalize("NFKD")
    .replace(MARKS, "")
    .replace(TATWEEL, "")
    .replace(FORMAT, "")
    .replace(PUNCTUATION, " ")
    .replace(/[ىٱ]/g, (c) => ARABIC_VARIANTS[c] ?? c)
    .toLowerCase()
    .replace(/\s+/gu, " ")
    .trim();
}

/** Longest message worth normalising: every word above is far shorter. */
const MAX_WORD_MESSAGE = 64;

const optOut = new Set(OPT_OUT_WORDS);
const resume = new Set(RESUME_WORDS);

/** What a candidate's whole message asks: `opt_out`, `resume`, or null (an ordinary message). */
export function optOutIntent(text: string | null | undefined): "opt_out" | "resume" | null {
  if (!text || text.length > MAX_WORD_MESSAGE) return null;
  const word = normalizeOptOutText(text);
  if (optOut.has(word)) return "opt_out";
  if (resume.has(word)) return "resume";
  return null;
}
