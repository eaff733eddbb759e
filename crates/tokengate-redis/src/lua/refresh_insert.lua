-- Stores the first record of a family (RedisRefreshStore::insert).
-- KEYS[1]: the family hash.
-- ARGV: id, record JSON, used_at ('' = none), successor ('' = none),
--       expire-at Unix seconds ('' = no TTL).
-- Returns 'ok', or 'duplicate' (nothing changed).
local fam = KEYS[1]
local id, json, used, succ, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HEXISTS', fam, 'r:' .. id) == 1 then
  return 'duplicate'
end
redis.call('HSET', fam, 'r:' .. id, json)
if used ~= '' then redis.call('HSET', fam, 'u:' .. id, used) end
if succ ~= '' then redis.call('HSET', fam, 's:' .. id, succ) end
if exp ~= '' then redis.call('EXPIREAT', fam, exp) end
return 'ok'
