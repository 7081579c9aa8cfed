import { createManualClock, systemClock } from '../../src';

describe('createManualClock', () => {
  it('should start at the given time and default to 0', () => {
    expect(createManualClock(1_234).now()).toBe(1_234);
    expect(createManualClock().now()).toBe(0);
  });

  it('should fire due timers in time order, and in creation order at the same time', () => {
    const clock = createManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
    clock.setTimeout(() => fired.push(`b1@${clock.now()}`), 200);
    clock.setTimeout(() => fired.push(`b2@${clock.now()}`), 200);
    expect(clock.pending()).toBe(4);
    clock.advance(250);
    expect(fired).toEqual(['a@1100', 'b1@1200', 'b2@1200']);
    expect(clock.now()).toBe(1_250);
    expect(clock.pending()).toBe(1);
    clock.advance(50);
    expect(fired).toEqual(['a@1100', 'b1@1200', 'b2@1200', 'c@1300']);
    expect(clock.pending()).toBe(0);
  });

  it('should fire timers set by a callback when they fall due within the same advance', () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    const tick = () => {
      fired.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    expect(clock.pending()).toBe(1);
  });

  it('should not fire a cleared timer', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    const t = clock.setTimeout(() => fired.push('x'), 10);
    clock.setTimeout(() => fired.push('y'), 10);
    clock.clearTimeout(t);
    clock.advance(100);
    expect(fired).toEqual(['y']);
  });

  it('should fire a zero or negative delay on the next advance, at the current time', () => {
    const clock = createManualClock(50);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 0);
    clock.setTimeout(() => fired.push(clock.now()), -5);
    expect(fired).toEqual([]);
    clock.advance(0);
    expect(fired).toEqual([50, 50]);
  });

  it('should jump to an absolute time with set, firing what fell due, and never go backwards', () => {
    const clock = createManualClock(1_000);
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 500);
    clock.set(5_000);
    expect(fired).toEqual([1_500]);
    expect(clock.now()).toBe(5_000);
    clock.set(2_000);
    expect(clock.now()).toBe(5_000);
  });
});

describe('systemClock', () => {
  it('should tell real time and run and clear real timers', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    let cleared = false;
    const t = systemClock.setTimeout(() => {
      cleared = true;
    }, 1);
    systemClock.clearTimeout(t);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    expect(cleared).toBe(false);
  });
});
