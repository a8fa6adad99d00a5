// @ts-check
// The New candidate form (a first contact): what the send would be while the recruiter types, the
// send, and opening the conversation once the worker has stored it.

import { messageOf, sendMessage, sendPreview } from "./api.js";
import { loadConversations } from "./conversation-list.js";
import { $, details, field } from "./dom.js";
import { money } from "./format.js";
import { refreshSendingBudget } from "./sending-budget.js";
import { state } from "./state.js";
import { openConversation } from "./thread.js";

/** @type {ReturnType<typeof setTimeout> | undefined} */
let planTimer;

/** The plan line under the form, asked 250 ms after the recruiter stops typing. */
export function scheduleNewCandidatePlan() {
  clearTimeout(planTimer);
  planTimer = setTimeout(() => void showNewCandidatePlan(), 250);
}

async function showNewCandidatePlan() {
  const phone = field("nc-phone").value.trim();
  const plan = $("nc-plan");
  if (phone.length < 6) return void (plan.textContent = "");
  try {
    const p = await sendPreview({
      candidatePhone: phone,
      candidateName: field("nc-name").value.trim(),
      jobTitle: field("nc-job").value.trim(),
    });
    plan.dataset.kind = p.kind;
    plan.textContent =
      p.kind === "text"
        ? `This candidate wrote in the last 24 hours: the template still goes (no message given) · ${money(p.template.cost)}.`
        : `${p.firstContact ? "First contact" : "Window closed"}: template “${p.template.name}” · ${money(p.template.cost)}${p.template.usable ? "" : ` — not usable yet: ${p.template.problem}`}`;
  } catch (err) {
    plan.dataset.kind = "refused";
    plan.textContent = messageOf(err);
  }
}

/** @param {SubmitEvent} event */
export async function sendNewCandidate(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  $("nc-error").textContent = "";
  submit.disabled = true;
  try {
    const body = {
      candidatePhone: field("nc-phone").value.trim(),
      candidateName: field("nc-name").value.trim(),
      jobTitle: field("nc-job").value.trim(),
    };
    // The worker stores the conversation after the answer: it opens on its `conversation:updated`
    // (or at once when it exists already).
    state.awaitingPhone = body.candidatePhone;
    const answer = await sendMessage(body);
    const preview = await sendPreview({ candidatePhone: body.candidatePhone });
    void refreshSendingBudget(answer);
    await loadConversations();
    form.reset();
    $("nc-plan").textContent = "";
    details("new-candidate").open = false;
    if (preview.conversationId) await openAwaited();
  } catch (err) {
    state.awaitingPhone = null;
    $("nc-error").textContent = `Not sent: ${messageOf(err)}`;
  } finally {
    submit.disabled = false;
  }
}

/** Opens the new candidate's conversation once it exists (the server matches the number as typed). */
export async function openAwaited() {
  const phone = state.awaitingPhone;
  if (!phone) return;
  const preview = await sendPreview({ candidatePhone: phone }).catch(() => null);
  if (!preview?.conversationId || state.awaitingPhone !== phone) return;
  state.awaitingPhone = null;
  await loadConversations();
  await openConversation(preview.conversationId);
}

/** Shows the form (a `<details>`): its budget line is read again each time it opens. */
export function showNewCandidateForm() {
  const box = details("new-candidate");
  box.hidden = false;
  box.addEventListener("toggle", () => {
    if (box.open) void refreshSendingBudget();
  });
}
