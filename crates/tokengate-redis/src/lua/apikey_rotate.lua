-- RedisApiKeyStore::rotate: one compare-and-set.
-- KEYS[4]: the old record, KEYS[5]: the successor's record,
-- KEYS[6]: the successor owner's set.
-- ARGV[2..]: old id, at, old_expires_at, successor id, successor JSON,
--   its revoked_at, expires_at, replaced_by ('' = none).
-- Returns {'rotated', n} or {'unknown'} / {'revoked'} / {'rotated_already'}
-- / {'expired', at} / {'duplicate'}, the last ones changing nothing.
local old, new = KEYS[4], KEYS[5]
if redis.call('EXISTS', old) == 0 then return {'unknown'} end
if redis.call('HEXISTS', old, 'rv') == 1 then return {'revoked'} end
if redis.call('HEXISTS', old, 'rb') == 1 then return {'rotated_already'} end
local ex = redis.call('HGET', old, 'ex')
if ex and tonumber(ex) <= tonumber(ARGV[3]) then return {'expired', ex} end
if redis.call('EXISTS', new) == 1 then return {'duplicate'} end
store(new, KEYS[6], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
if not ex or tonumber(ARGV[4]) < tonumber(ex) then
  redis.call('HSET', old, 'ex', ARGV[4])
end
redis.call('HSET', old, 'rb', ARGV[5])
return {'rotated', changed(old, ARGV[2])}
