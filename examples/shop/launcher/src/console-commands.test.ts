import { describe, expect, it } from 'vitest';
import { parseCommand } from './console-commands.js';

const services = ['inventory-1', 'inventory-2', 'billing', 'notifications', 'orders'];

describe('launcher commands', () => {
  it('reads stop, start and restart with settings, and service prefixes', () => {
    expect(parseCommand('stop billing', services)).toEqual({ kind: 'stop', names: ['billing'], env: {} });
    expect(parseCommand('  restart billing BILLING_FAIL_RATE=1 ', services)).toEqual({
      kind: 'restart',
      names: ['billing'],
      env: { BILLING_FAIL_RATE: '1' },
    });
    expect(parseCommand('start inventory', services)).toEqual({
      kind: 'start',
      names: ['inventory-1', 'inventory-2'],
      env: {},
    });
    expect(parseCommand('status', services)).toEqual({ kind: 'status' });
    expect(parseCommand('', services)).toBeUndefined();
  });

  it('refuses what it does not understand, saying what it does', () => {
    expect(() => parseCommand('launch billing', services)).toThrow(/unknown command "launch"; type help/);
    expect(() => parseCommand('stop', services)).toThrow(/stop needs a service: inventory-1, inventory-2/);
    expect(() => parseCommand('stop shipping', services)).toThrow(/no service shipping; the services are/);
    expect(() => parseCommand('start billing fast', services)).toThrow(/write NAME=value/);
    expect(() => parseCommand('stop billing X=1', services)).toThrow(/settings go with start or restart/);
    try {
      parseCommand('launch', services);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('INVALID_OPTION');
    }
  });
});
