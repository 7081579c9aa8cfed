import type { ActorRefLike, AnyEventObject, InspectionEvent, Observer } from 'xstate';
import { sanitizeValue } from './sanitizeValue';
import type { SecretMasker } from './secretMasker';

/** What the `inspect` option takes: an observer, a function, or a @statelyai/inspect inspector itself. */
export type InspectTarget =
  Observer<InspectionEvent> | ((event: InspectionEvent) => void) | { readonly inspect: Observer<InspectionEvent> };

/** The parts of an actor ref the inspectors read, with a snapshot that is sanitized when read. */
interface SanitizedRef extends ActorRefLike {
  readonly id: string | undefined;
  readonly sessionId: string;
  readonly src: unknown;
  readonly logic: { readonly config: unknown } | undefined;
  readonly _parent: SanitizedRef | undefined;
  toJSON(): { xstate$$type: 1; id: string | undefined };
}

type RawRef = ActorRefLike & { id?: string; src?: unknown; logic?: { config?: unknown }; _parent?: RawRef };

function isObserverObject(target: InspectTarget): target is Observer<InspectionEvent> {
  return typeof target === 'object' && typeof (target as Observer<InspectionEvent>).next === 'function';
}

/** The observer inside what the `inspect` option was given, or throws when it is none of the accepted shapes. */
function toObserver(target: InspectTarget): Observer<InspectionEvent> {
  if (typeof target === 'function') return { next: target };
  if (isObserverObject(target)) return target;
  const inner = (target as { inspect?: unknown }).inspect;
  if (typeof inner === 'object' && inner !== null && typeof (inner as Observer<InspectionEvent>).next === 'function')
    return inner as Observer<InspectionEvent>;
  throw new TypeError('inspect must be an observer ({ next(event) }), a function, or a @statelyai/inspect inspector');
}

/**
 * Wraps an inspection observer so that everything it receives is sanitized: events, snapshots and
 * action params become JSON-safe copies with every registered secret, key-shaped and JWT-shaped
 * string masked (a `Secret` is `[REDACTED]` already), and actor refs become facades that expose ids,
 * the machine definition and a sanitized `getSnapshot()`. A failure to sanitize drops the event;
 * it never reaches the actors.
 *
 * Accepts a @statelyai/inspect inspector itself as well as its `.inspect` observer.
 *
 * @example
 * const inspector = createWebSocketInspector({ url: 'ws://localhost:8080' });
 * createActor(machine, { inspect: sanitizeInspection(inspector, masker) });
 */
export function sanitizeInspection(target: InspectTarget, masker: SecretMasker | null): Observer<InspectionEvent> {
  const observer = toObserver(target);
  const refs = new WeakMap<object, SanitizedRef>();
  const clean = <T>(value: T): T => sanitizeValue(value, masker) as T;

  const facade = (ref: RawRef | undefined): SanitizedRef | undefined => {
    if (ref === undefined) return undefined;
    let out = refs.get(ref);
    if (!out) {
      out = {
        id: ref.id,
        sessionId: ref.sessionId,
        src: typeof ref.src === 'string' ? ref.src : undefined,
        logic: ref.logic ? { config: ref.logic.config } : undefined,
        _parent: facade(ref._parent),
        send: (event: AnyEventObject) => ref.send(event),
        getSnapshot: () => clean(ref.getSnapshot()),
        toJSON: () => ({ xstate$$type: 1, id: ref.id }),
      };
      refs.set(ref, out);
    }
    return out;
  };

  const sanitize = (event: InspectionEvent): InspectionEvent => {
    const base = { rootId: event.rootId, actorRef: facade(event.actorRef as RawRef)! };
    switch (event.type) {
      case '@xstate.actor':
        return { type: event.type, ...base };
      case '@xstate.event':
        return {
          type: event.type,
          ...base,
          sourceRef: facade(event.sourceRef as RawRef | undefined),
          event: clean(event.event),
        };
      case '@xstate.snapshot':
      case '@xstate.transition':
        return { type: event.type, ...base, event: clean(event.event), snapshot: clean(event.snapshot) };
      case '@xstate.microstep':
        return {
          type: event.type,
          ...base,
          event: clean(event.event),
          snapshot: clean(event.snapshot),
          _transitions: event._transitions,
        };
      case '@xstate.action':
        return { type: event.type, ...base, action: { type: event.action.type, params: clean(event.action.params) } };
    }
  };

  return {
    next: (event) => {
      let out: InspectionEvent;
      try {
        out = sanitize(event);
      } catch {
        return;
      }
      observer.next?.(out);
    },
    error: (error) => observer.error?.(error),
    complete: () => observer.complete?.(),
  };
}
