/**
 * Checks in flight, from the page's side. Each one settles exactly once, with a verdict or a typed error,
 * whatever its worker does:
 * - its answer is checked before it is believed (a malformed one fails the check and ends the worker);
 * - once the worker says it started the check, a deadline of the check's timeout (+ a small margin) settles
 *   it with a timeout verdict even if the worker is stuck and cannot run its own timer;
 * - when the worker dies, the check it was running is failed closed as the likely culprit and not sent
 *   again (a poison message must not crash every new worker); the others are sent to the next worker.
 */
import {
  AegisAbortError,
  AegisTimeoutError,
  EngineError,
  GuardDisposedError,
  WorkerCrashedError,
  describeThrown,
  errorFromWire,
  type AegisError,
} from '../core/errors.js';
import type { Decision, Verdict } from '../core/types.js';
import { failureVerdict } from '../core/verdict.js';
import { resultProblem, verdictProblem } from '../core/wire-shapes.js';
import type { CheckEvent, CheckRequest, Result } from '../worker/protocol.js';
import type { WorkerConnection } from './worker-connection.js';

/** The page's deadline fires this long after the worker's own timeout would have. */
export const DEADLINE_MARGIN_MS = 100;

/** A check that was queued through this many worker failures nobody could be blamed for is failed closed. */
const MAX_UNATTRIBUTED_FAILURES = 2;

interface Flight {
  request: CheckRequest;
  sentAt: number;
  onDecision?: (decision: Decision) => void;
  resolve(verdict: Verdict): void;
  reject(error: unknown): void;
  /** The connection it was last sent on. */
  connection?: WorkerConnection;
  /** The worker said it started judging it (on `connection`). */
  started: boolean;
  /** Worker failures it lived through while not running, with no check to blame. */
  strikes: number;
  deadline?: ReturnType<typeof setTimeout>;
  /** The caller has its result; the record stays until the worker answers or goes away (for blame). */
  done: boolean;
}

export interface FlightHost {
  /** The connection to send on now, or undefined when the guard has none (it failed or was disposed). */
  connection(): WorkerConnection | undefined;
  /** Why there is no connection. */
  unavailable(): AegisError;
  onVerdict(verdict: Verdict): void;
}

const now = () => performance.now();

export class Flights {
  private readonly flights = new Map<string, Flight>();
  /** Failed connections whose failure was pinned on the check they were running. */
  private readonly blamed = new WeakSet<WorkerConnection>();

  constructor(private readonly host: FlightHost) {}

  /** Sends a check; resolves with its verdict (failures included), rejects only for aborts and disposal. */
  send(request: CheckRequest, { signal, onDecision }: { signal?: AbortSignal; onDecision?: (d: Decision) => void }): Promise<Verdict> {
    return new Promise<Verdict>((resolve, reject) => {
      // An aborted signal never fires 'abort' again: without this the check would be sent regardless.
      if (signal?.aborted) {
        reject(new AegisAbortError('The check was cancelled before it was sent.'));
        return;
      }
      const flight: Flight = { request, sentAt: now(), onDecision, resolve, reject, started: false, strikes: 0, done: false };
      const onAbort = () => {
        if (flight.done) return;
        flight.connection?.call((remote) => remote.cancel(request.id)).catch(() => undefined);
        this.reject(flight, new AegisAbortError('The check was cancelled.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanUp = () => signal?.removeEventListener('abort', onAbort);
      flight.resolve = (verdict) => {
        cleanUp();
        resolve(verdict);
      };
      flight.reject = (error) => {
        cleanUp();
        reject(error);
      };
      this.flights.set(request.id, flight);
      this.dispatch(flight);
    });
  }

  /** A `check` notice from `connection`. */
  onCheckEvent(connection: WorkerConnection, id: string, event: CheckEvent): void {
    const flight = this.flights.get(id);
    if (!flight || flight.connection !== connection || flight.done) return;
    if (event.type === 'started') {
      flight.started = true;
      const timeoutMs = flight.request.timeoutMs ?? 0;
      if (timeoutMs > 0 && flight.deadline === undefined) {
        flight.deadline = setTimeout(() => {
          const error = new AegisTimeoutError(`The check took longer than ${timeoutMs} ms (the worker did not answer in time).`, timeoutMs);
          this.fail(flight, error);
        }, timeoutMs + DEADLINE_MARGIN_MS);
      }
    } else if (flight.onDecision) {
      try {
        flight.onDecision(event.decision);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Pins the coming failure of `connection` on the check it ran last (it already settled). */
  blame(connection: WorkerConnection): void {
    this.blamed.add(connection);
  }

  /**
   * Called as `connection` fails, before its calls are rejected: notes whether it was running a check, in
   * which case that check takes the blame and the others are sent again without a strike. Returns whether
   * the failure is pinned on a check (this one, or one `blame` named).
   */
  noteFailure(connection: WorkerConnection): boolean {
    for (const flight of this.flights.values()) {
      if (flight.connection === connection && flight.started) this.blamed.add(connection);
    }
    return this.blamed.has(connection);
  }

  /** Settles every check with `error` (disposal). */
  rejectAll(error: AegisError): void {
    for (const flight of [...this.flights.values()]) {
      this.reject(flight, error);
      this.forget(flight);
    }
  }

  get size(): number {
    return this.flights.size;
  }

  private dispatch(flight: Flight): void {
    const connection = this.host.connection();
    if (!connection) {
      const reason = this.host.unavailable();
      // A disposed guard rejects (as its contract says); a guard that gave up on its worker fails closed.
      if (reason instanceof GuardDisposedError) this.reject(flight, reason);
      else this.fail(flight, reason);
      this.forget(flight);
      return;
    }
    flight.connection = connection;
    flight.started = false;
    connection.call((remote) => remote.check(flight.request)).then(
      (result) => {
        if (flight.connection === connection) this.onAnswer(flight, connection, result);
      },
      (error: unknown) => {
        if (flight.connection === connection) this.onLost(flight, connection, error);
      },
    );
  }

  private onAnswer(flight: Flight, connection: WorkerConnection, result: Result<Verdict>): void {
    this.forget(flight);
    const problem = resultProblem(result, verdictProblem);
    if (problem) {
      const error = new WorkerCrashedError(
        `The guard worker answered this check with a malformed result (${problem}); it is replaced and this text is not judged again automatically.`,
        { reason: 'bad-message', workerUrl: connection.workerUrl, duringCheck: true },
      );
      this.fail(flight, error);
      this.blamed.add(connection);
      connection.fail('bad-message', `it answered a check with a malformed result (${problem})`);
      return;
    }
    if (flight.done) return;
    if (result.ok) this.settle(flight, result.value);
    else {
      const error = errorFromWire(result.error);
      // Only a cancellation rejects; every other failure the worker reports is already a verdict.
      if (error instanceof AegisAbortError) this.reject(flight, error);
      else this.fail(flight, error);
    }
  }

  private onLost(flight: Flight, connection: WorkerConnection, error: unknown): void {
    if (!(error instanceof WorkerCrashedError)) {
      this.forget(flight);
      if (error instanceof AegisAbortError || error instanceof GuardDisposedError) this.reject(flight, error);
      else this.fail(flight, new EngineError(`The guard worker could not answer this check: ${describeThrown(error)}`));
      return;
    }
    if (flight.done) {
      this.forget(flight);
      return;
    }
    if (flight.started) {
      // It was being judged when the worker went: it may be what killed it. Never sent again by itself.
      this.forget(flight);
      this.fail(
        flight,
        new WorkerCrashedError(
          `${error.message} It happened while this text was being judged, so it is not judged again automatically; check it again to retry.`,
          { reason: error.reason, workerUrl: error.workerUrl, duringCheck: true },
        ),
      );
      return;
    }
    if (!this.blamed.has(connection)) flight.strikes++;
    const next = this.host.connection();
    if (next && next !== connection && flight.strikes < MAX_UNATTRIBUTED_FAILURES) {
      this.dispatch(flight);
      return;
    }
    this.forget(flight);
    this.fail(flight, error);
  }

  private settle(flight: Flight, verdict: Verdict): void {
    if (flight.done) return;
    flight.done = true;
    clearTimeout(flight.deadline);
    this.host.onVerdict(verdict);
    flight.resolve(verdict);
  }

  /** Fail closed: a blocking verdict (or an open one under failMode 'open'), never an exception. */
  private fail(flight: Flight, error: AegisError): void {
    this.settle(flight, failureVerdict(error, flight.request, { queuedMs: 0, totalMs: now() - flight.sentAt }));
  }

  private reject(flight: Flight, error: unknown): void {
    if (flight.done) return;
    flight.done = true;
    clearTimeout(flight.deadline);
    flight.reject(error);
  }

  private forget(flight: Flight): void {
    if (this.flights.get(flight.request.id) === flight) this.flights.delete(flight.request.id);
  }
}
