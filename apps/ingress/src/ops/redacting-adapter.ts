import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { Job, Queue } from "bullmq";
import { redactText } from "@linkojob/config";
import { allowListView } from "./job-view.js";

/**
 * Bull Board's BullMQ adapter with nothing personal or secret on screen: job data and return values
 * show only allow-listed fields (ids, statuses, types, times; allowListView — a queued webhook body is
 * parsed and shown as a structure), and failure reasons, stack traces and job logs go through
 * redactText (phone numbers, wamids, bearer tokens).
 */
export class RedactingBullMQAdapter extends BullMQAdapter {
  constructor(queue: Queue, options: { readOnlyMode: boolean }) {
    super(queue, { readOnlyMode: options.readOnlyMode, allowRetries: !options.readOnlyMode });
    this.setFormatter("data", (data) => allowListView(data));
    this.setFormatter("returnValue", (value) => allowListView(value));
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
        stacktrace: Array.isArray(json.stacktrace)
          ? json.stacktrace.map((s) => (typeof s === "string" ? redactText(s) : s))
          : json.stacktrace,
      };
    },
  });
  return view;
}
