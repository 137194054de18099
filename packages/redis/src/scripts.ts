/**
 * The Lua scripts: every step that touches more than one key runs as one
 * script, so that nothing is lost or stored twice between two commands.
 * ARGV[1] is always the key root (`{prefix}`).
 */
import { LuaScript } from './lua-script.js';

/** Subject matching, as `subjectMatcher` in core: `*` one token, `>` one or more trailing tokens. */
const MATCH = `
local function match(pattern, subject)
  local p, s = {}, {}
  for t in string.gmatch(pattern, '[^.]+') do p[#p + 1] = t end
  for t in string.gmatch(subject, '[^.]+') do s[#s + 1] = t end
  local tail = p[#p] == '>'
  local fixed = tail and #p - 1 or #p
  if tail then
    if #s <= fixed then return false end
  elseif #s ~= fixed then
    return false
  end
  for i = 1, fixed do
    if p[i] ~= '*' and p[i] ~= s[i] then return false end
  end
  return true
end
`;

/** Appends a message to its subject's log and to every wildcard pattern stream it matches. */
const ROUTE = `${MATCH}
local function append(key, maxlen, fields, from)
  if maxlen > 0 then
    redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(fields, from))
  else
    redis.call('XADD', key, '*', unpack(fields, from))
  end
end
local function route(root, maxlen, subject, fields, from)
  append(root .. ':s:' .. subject, maxlen, fields, from)
  for _, pattern in ipairs(redis.call('SMEMBERS', root .. ':patterns')) do
    if match(pattern, subject) then append(root .. ':w:' .. pattern, maxlen, fields, from) end
  end
end
`;

/** Is the entry still this delivery: pending on this consumer with this delivery count? */
const OWNS = `
local function owns(key, group, id, consumer, count)
  local ok, p = pcall(redis.call, 'XPENDING', key, group, id, id, 1)
  if not ok or p[1] == nil then return false end
  return p[1][2] == consumer and tonumber(p[1][4]) == tonumber(count)
end
`;

/**
 * Publish. ARGV: "root window maxlen deliverAt token" (one argument: every
 * argument costs the client), id, subject, meta, payload. A deliverAt of 0
 * means now. Returns 0 for a duplicate, 1 appended, 2 scheduled.
 */
export const publishScript = new LuaScript(`${ROUTE}
local root, window, maxlen, at, tok = string.match(ARGV[1], '^(%S+) (%d+) (%d+) (%d+) ?(%S*)$')
local id, subject = ARGV[2], ARGV[3]
if tonumber(window) > 0 and not redis.call('SET', root .. ':d:' .. id, '1', 'NX', 'PX', window) then return 0 end
local fields = {'i', id, 's', subject, 'm', ARGV[4], 'p', ARGV[5]}
if tonumber(at) > 0 then
  redis.call('ZADD', root .. ':delayed', at, tok .. cmsgpack.pack({subject, unpack(fields)}))
  return 2
end
route(root, tonumber(maxlen), subject, fields, 1)
return 1
`);

/**
 * Moves due delayed messages into their streams. ARGV: root, now, maxlen, limit.
 * Returns {moved, next due score or nil}.
 */
export const moveDelayedScript = new LuaScript(`${ROUTE}
local root = ARGV[1]
local key = root .. ':delayed'
local due = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
for _, member in ipairs(due) do
  local t = cmsgpack.unpack(string.sub(member, 17))
  route(root, tonumber(ARGV[3]), t[1], t, 2)
  redis.call('ZREM', key, member)
end
local nxt = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {#due, nxt[2] or false}
`);

/**
 * Attaches a member: registers a wildcard pattern, creates the consumer groups
 * on the main and private streams, records the group and the member's ackWait.
 * ARGV: root, group, pattern, wildcard (1/0), start ($/0), durable (1/0), consumer, ackWait.
 */
export const attachScript = new LuaScript(`
local root, group, pattern = ARGV[1], ARGV[2], ARGV[3]
local gid = pattern .. ' ' .. group
local main = root .. ':s:' .. pattern
if ARGV[4] == '1' then
  redis.call('SADD', root .. ':patterns', pattern)
  main = root .. ':w:' .. pattern
end
for _, spec in ipairs({{main, ARGV[5]}, {root .. ':g:' .. gid, '0'}}) do
  local created = redis.pcall('XGROUP', 'CREATE', spec[1], group, spec[2], 'MKSTREAM')
  if type(created) == 'table' and created.err and not string.find(created.err, 'BUSYGROUP', 1, true) then
    return redis.error_reply(created.err)
  end
end
redis.call('HSET', root .. ':groups', gid, ARGV[6])
redis.call('HSET', root .. ':c:' .. gid, ARGV[7], ARGV[8])
return 1
`);

/**
 * Detaches a member. Its pending entries become claimable at once by the
 * group's other members. A non-durable group goes with its last member, and
 * a wildcard pattern with its last group.
 * ARGV: root, group, pattern, wildcard (1/0), durable (1/0), consumer.
 */
export const detachScript = new LuaScript(`
local root, group, pattern, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local gid = pattern .. ' ' .. group
local main = root .. ':s:' .. pattern
if ARGV[4] == '1' then main = root .. ':w:' .. pattern end
local priv = root .. ':g:' .. gid
local members = root .. ':c:' .. gid
redis.call('HDEL', members, consumer)
if ARGV[5] == '0' and redis.call('HLEN', members) == 0 then
  redis.pcall('XGROUP', 'DESTROY', main, group)
  redis.call('DEL', priv, root .. ':r:' .. gid, members)
  redis.call('HDEL', root .. ':groups', gid)
  if ARGV[4] == '1' then
    local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', main)
    if not ok or #groups == 0 then
      redis.call('SREM', root .. ':patterns', pattern)
      redis.call('DEL', main)
    end
  end
  return 1
end
for _, key in ipairs({main, priv}) do
  local ok, pending = pcall(redis.call, 'XPENDING', key, group, '-', '+', 10000, consumer)
  if ok then
    for _, p in ipairs(pending) do
      redis.call('XCLAIM', key, group, consumer, 0, p[1], 'IDLE', 1000000000000, 'JUSTID')
    end
    if #pending == 0 then redis.pcall('XGROUP', 'DELCONSUMER', key, group, consumer) end
  end
end
return 0
`);

/**
 * Keeps the delivery: resets its idle time if it is still this delivery.
 * ARGV: root, key, group, id, consumer, count.
 */
export const touchScript = new LuaScript(`${OWNS}
if not owns(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) then return 0 end
redis.call('XCLAIM', ARGV[2], ARGV[3], ARGV[5], 0, ARGV[4], 'JUSTID')
return 1
`);

/**
 * Acks an entry of a private stream and deletes it (no other group reads it).
 * ARGV: root, key, group, id.
 */
export const ackPrivateScript = new LuaScript(`
local n = redis.call('XACK', ARGV[2], ARGV[3], ARGV[4])
redis.call('XDEL', ARGV[2], ARGV[4])
return n
`);

/**
 * Nack: moves the delivery to the group's private stream now, or to its retry
 * set until the delay passes, counting the deliveries so far.
 * ARGV: root, gid, key, group, id, consumer, count, private (1/0), delay, now, attempts, token, fields...
 * Returns 0 when the delivery is no longer this member's (it was reclaimed).
 */
export const nackScript = new LuaScript(`${OWNS}
local root, gid, key, group, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not owns(key, group, id, ARGV[6], ARGV[7]) then return 0 end
redis.call('XACK', key, group, id)
if ARGV[8] == '1' then redis.call('XDEL', key, id) end
local delay = tonumber(ARGV[9])
if delay <= 0 then
  redis.call('XADD', root .. ':g:' .. gid, '*', 'a', ARGV[11], unpack(ARGV, 13))
  return 1
end
local packed = {ARGV[11]}
for i = 13, #ARGV do packed[#packed + 1] = ARGV[i] end
redis.call('ZADD', root .. ':r:' .. gid, tonumber(ARGV[10]) + delay, ARGV[12] .. cmsgpack.pack(packed))
return 2
`);

/**
 * Dead-letters a delivery: appends it to the group's dead-letter stream with
 * the pattern, error, attempts and time, and acks it.
 * ARGV: root, key, group, id, consumer, count, private (1/0), dead-letter key,
 * pattern, error JSON, attempts, time, fields...
 */
export const deadLetterScript = new LuaScript(`${OWNS}
local key, group, id = ARGV[2], ARGV[3], ARGV[4]
if ARGV[5] ~= '' and not owns(key, group, id, ARGV[5], ARGV[6]) then return 0 end
redis.call('XACK', key, group, id)
if ARGV[7] == '1' then redis.call('XDEL', key, id) end
redis.call('XADD', ARGV[8], '*', '_p', ARGV[9], '_e', ARGV[10], '_n', ARGV[11], '_t', ARGV[12], unpack(ARGV, 13))
return 1
`);

/**
 * Moves one dead letter back to its (group, pattern)'s private stream, attempts
 * counted afresh. Leaves it where it is when that group no longer exists.
 * ARGV: root, dead-letter key, entry id, group. Returns 1 when replayed.
 */
export const replayScript = new LuaScript(`
local root = ARGV[1]
local e = redis.call('XRANGE', ARGV[2], ARGV[3], ARGV[3])
if #e == 0 then return 0 end
local f = e[1][2]
local gid = f[2] .. ' ' .. ARGV[4]
if redis.call('HEXISTS', root .. ':groups', gid) == 0 then return 0 end
redis.call('XADD', root .. ':g:' .. gid, '*', 'a', '0', unpack(f, 9))
redis.call('XDEL', ARGV[2], ARGV[3])
return 1
`);

/**
 * A member's periodic upkeep: moves the group's due retries into its private
 * stream, then claims (up to \`limit\`) entries whose holder let them idle past
 * the holder's ackWait (a dead or closed member's), with their delivery
 * counts. Members are recorded in \`c:\` as "ackWait clientId".
 * ARGV: root, gid, group, main key, consumer, now, limit, default ackWait.
 * Returns {next retry due or nil, {{stream index (1 main, 2 private), id, count, fields}...},
 * {{holder, client id}...} for the other members holding entries}.
 */
export const upkeepScript = new LuaScript(`
local root, gid, group, main, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local priv = root .. ':g:' .. gid
local retries = root .. ':r:' .. gid
local due = redis.call('ZRANGEBYSCORE', retries, '-inf', ARGV[6], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local t = cmsgpack.unpack(string.sub(member, 17))
  redis.call('XADD', priv, '*', 'a', unpack(t))
  redis.call('ZREM', retries, member)
end
local nxt = redis.call('ZRANGE', retries, 0, 0, 'WITHSCORES')
local claimed, holders, seen = {}, {}, {}
local limit = tonumber(ARGV[7])
if limit > 0 then
  local waits, clients = {}, {}
  local flat = redis.call('HGETALL', root .. ':c:' .. gid)
  for i = 1, #flat, 2 do
    local wait, client = string.match(flat[i + 1], '^(%d+) ?(%d*)$')
    waits[flat[i]] = wait
    clients[flat[i]] = client
  end
  for index, key in ipairs({main, priv}) do
    local ok, summary = pcall(redis.call, 'XPENDING', key, group)
    if ok and summary[4] then
      for _, holder in ipairs(summary[4]) do
        local name = holder[1]
        if name ~= consumer and clients[name] and clients[name] ~= '' and not seen[name] then
          seen[name] = true
          holders[#holders + 1] = {name, clients[name]}
        end
        if limit > 0 then
          local wait = tonumber(waits[name] or ARGV[8])
          local entries = redis.call('XPENDING', key, group, 'IDLE', wait, '-', '+', limit, name)
          for _, e in ipairs(entries) do
            local got = redis.call('XCLAIM', key, group, consumer, wait, e[1])
            if got[1] then
              claimed[#claimed + 1] = {index, e[1], tonumber(e[4]) + 1, got[1][2]}
              limit = limit - 1
            end
            if limit <= 0 then break end
          end
        end
      end
    end
  end
end
return {nxt[2] or false, claimed, holders}
`);

/**
 * Takes over what a member whose connection is gone still holds (up to
 * \`limit\`), with delivery counts, and forgets the member once it holds
 * nothing. Only entries still owned by that member are taken, so two
 * survivors cannot both take one.
 * ARGV: root, gid, group, main key, consumer, dead member, limit.
 */
export const claimDeadScript = new LuaScript(`
local root, gid, group, main, consumer, dead = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit = tonumber(ARGV[7])
local out, left = {}, 0
for index, key in ipairs({main, root .. ':g:' .. gid}) do
  local ok, pending = pcall(redis.call, 'XPENDING', key, group, '-', '+', 10000, dead)
  if ok then
    for _, p in ipairs(pending) do
      if limit > 0 then
        local got = redis.call('XCLAIM', key, group, consumer, 0, p[1])
        if got[1] then
          out[#out + 1] = {index, p[1], tonumber(p[4]) + 1, got[1][2]}
          limit = limit - 1
        end
      else
        left = left + 1
      end
    end
  end
end
if left == 0 then
  redis.call('HDEL', root .. ':c:' .. gid, dead)
  redis.pcall('XGROUP', 'DELCONSUMER', main, group, dead)
  redis.pcall('XGROUP', 'DELCONSUMER', root .. ':g:' .. gid, group, dead)
end
return out
`);

/**
 * Claims this consumer's own pending entries again (after a reconnect lost a
 * read's reply), with their new delivery counts. ARGV: root, key, group,
 * consumer, limit, ids to skip (held locally)...
 */
export const recoverScript = new LuaScript(`
local key, group, consumer = ARGV[2], ARGV[3], ARGV[4]
local skip = {}
for i = 6, #ARGV do skip[ARGV[i]] = true end
local ok, pending = pcall(redis.call, 'XPENDING', key, group, '-', '+', tonumber(ARGV[5]), consumer)
if not ok then return {} end
local out = {}
for _, p in ipairs(pending) do
  if not skip[p[1]] then
    local got = redis.call('XCLAIM', key, group, consumer, 0, p[1])
    if got[1] then out[#out + 1] = {p[1], tonumber(p[4]) + 1, got[1][2]} end
  end
end
return out
`);

/**
 * Routes a request to one live responder whose pattern matches: the one with
 * the fewest outstanding requests, ties taken in turn. Expired registrations
 * are dropped on the way. ARGV: root, subject, now, timeout ms, request blob.
 * Returns the responder id, or nil when there is none.
 */
export const routeRequestScript = new LuaScript(`${MATCH}
local root, subject, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local registry, load = root .. ':resp', root .. ':load'
local all = redis.call('HGETALL', registry)
local best, ties = nil, {}
for i = 1, #all, 2 do
  local id, value = all[i], all[i + 1]
  local sp = string.find(value, ' ', 1, true)
  local expires = tonumber(string.sub(value, 1, sp - 1))
  if expires < now then
    redis.call('HDEL', registry, id)
    redis.call('HDEL', load, id)
  elseif match(string.sub(value, sp + 1), subject) then
    local n = tonumber(redis.call('HGET', load, id) or '0')
    if best == nil or n < best then
      best = n
      ties = {id}
    elseif n == best then
      ties[#ties + 1] = id
    end
  end
end
if #ties == 0 then return false end
table.sort(ties)
local id = ties[(redis.call('INCR', root .. ':rr') % #ties) + 1]
redis.call('HINCRBY', load, id, 1)
local inbox = root .. ':in:' .. string.sub(id, 1, string.find(id, '.', 1, true) - 1)
redis.call('RPUSH', inbox, id .. '\\n' .. ARGV[5])
local keep = tonumber(ARGV[4]) + 60000
if redis.call('PTTL', inbox) < keep then redis.call('PEXPIRE', inbox, keep) end
return id
`);

/**
 * Sends a reply and counts the request as done for its responder.
 * ARGV: root, reply key, responder id, reply blob.
 */
export const replyScript = new LuaScript(`
local root = ARGV[1]
redis.call('RPUSH', ARGV[2], ARGV[4])
redis.call('PEXPIRE', ARGV[2], 60000)
if redis.call('HEXISTS', root .. ':resp', ARGV[3]) == 1 then
  if redis.call('HINCRBY', root .. ':load', ARGV[3], -1) < 0 then redis.call('HSET', root .. ':load', ARGV[3], 0) end
end
return 1
`);

/** Subject matching alone, for tests that hold it against core's matcher. ARGV: pattern, subject. */
export const matchScript = new LuaScript(`${MATCH}
return match(ARGV[1], ARGV[2]) and 1 or 0
`);
