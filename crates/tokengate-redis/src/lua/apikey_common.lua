-- Shared by every API key script (prepended to each). All keys share the
-- hash tag {<prefix>:ak}: one cluster slot.
-- KEYS[1]: the change stream, KEYS[2]: the change counter,
-- KEYS[3]: the set of every key id. ARGV[1]: the stream's MAXLEN (approximate).
local stream, seq, ids, maxlen = KEYS[1], KEYS[2], KEYS[3], ARGV[1]

-- Appends a change event for key `id`, numbered by the counter, and stamps
-- the record with that number (its version).
local function changed(key, id)
  local n = redis.call('INCR', seq)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'id', id, 'n', n)
  redis.call('HSET', key, 'n', n)
  return n
end

-- Stores a new record: its immutable JSON and mutable fields.
local function store(key, owner_set, id, json, rv, ex, rb)
  redis.call('HSET', key, 'rec', json)
  if rv ~= '' then redis.call('HSET', key, 'rv', rv) end
  if ex ~= '' then redis.call('HSET', key, 'ex', ex) end
  if rb ~= '' then redis.call('HSET', key, 'rb', rb) end
  redis.call('SADD', ids, id)
  redis.call('SADD', owner_set, id)
  return changed(key, id)
end
