import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { Job, Queue } from "bullmq";
import { redactDeep, redactText } from "@linkojob/config";

/**
 * Bull Board's BullMQ adapter with nothing personal or secret on screen: job data and return values go
 * through redactDeep (phone numbers, message text, tokens; a queued webhook body is parsed and
 * redacted field by field), and failure reasons, stack traces and job logs through redactText.
 */
export class RedactingBullMQAdapter extends BullMQAdapter {
  constructor(queue: Queue, options: { readOnlyMode: boolean }) {
    super(queue, { readOnlyMode: options.readOnlyMode, allowRetries: !options.readOnlyMode });
    this.setFormatter("data", (data) => redactDeep(data));
    this.setFormatter("returnValue", (value) => redactDeep(value));
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job ? redactedView(job) : job;
  }

  override async getJobs(...args: Parameters<BullMQAdapter["getJobs"]>): Promise<Job[]> {
    return (await super.getJobs(...args)).map((job) => (job ? redactedView(job) : job));
  }

  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(redactText);
  }
}

/**
 * The job itself for every method Bull Board calls (getState, retry…), but whose toJSON — what the
 * board renders — carries redacted failure text. Data and return value are left to the formatters.
 */
function redactedView(job: Job): Job {
  const view = Object.create(job) as Job;
  Object.defineProperty(view, "toJSON", {
    value: () => {
      const json = job.toJSON();
      return {
        ...json,
        failedReason: typeof json.failedReason === "string" ? redactText(json.failedReason) : json.failedReason,
        stacktrace: Array.isArray(json.stacktrace) ? json.stacktrace.map((s) => (typeof s === "string" ? redactText(s) : s)) : json.stacktrace,
      };
    },
  });
  return view;
}
