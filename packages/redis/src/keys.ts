/**
 * Key names. Every key of one Courier namespace starts with `{prefix}:`; the
 * braces are a Redis hash tag, so a namespace lives in one hash slot and the
 * Lua scripts that touch several of its keys stay valid on a cluster slot.
 *
 * A (group, pattern) pair is named `<pattern> <group>`: patterns never
 * contain spaces, so the name is unambiguous whatever the group is called.
 */

/** The keys of one namespace. */
export class Keys {
  /** What every key starts with: `{prefix}`. */
  readonly root: string;

  constructor(prefix: string) {
    this.root = `{${prefix}}`;
  }

  /** The log of one subject: every message published to it. Exact-subject groups read it. */
  subject(subject: string): string {
    return `${this.root}:s:${subject}`;
  }

  /** The stream of one wildcard pattern: a copy of every message that matches it. */
  pattern(pattern: string): string {
    return `${this.root}:w:${pattern}`;
  }

  /** The stream a group reads for its subject or pattern. */
  main(pattern: string, wildcard: boolean): string {
    return wildcard ? this.pattern(pattern) : this.subject(pattern);
  }

  /** The private stream of one (group, pattern): retries and replayed dead letters. */
  private(pattern: string, group: string): string {
    return `${this.root}:g:${groupId(pattern, group)}`;
  }

  /** Dead letters of a group (all its patterns). */
  deadLetters(group: string): string {
    return `${this.root}:dl:${group}`;
  }

  /** Unique per connection: the requests routed to its responders. */
  inbox(connection: string): string {
    return `${this.root}:in:${connection}`;
  }

  /** Unique per connection: the replies to its requests. */
  replies(connection: string): string {
    return `${this.root}:rp:${connection}`;
  }
}

/** The name of a (group, pattern) pair inside key names. */
export function groupId(pattern: string, group: string): string {
  return `${pattern} ${group}`;
}
