import { defineErrors } from "@linkojob/errors";

/** The demo candidate's error catalog: why a message or reaction could not be played through the simulator. */
export class DemoCandidateError extends defineErrors("DemoCandidateError", {
  NOTHING_TO_REACT_TO: "no message with a WhatsApp id in this conversation yet",
  SIMULATOR_UNREACHABLE: "the simulator did not answer",
  SIMULATOR_REFUSED: "the simulator refused",
}) {}
