-- RedisApiKeyStore::retire. KEYS[4]: the record. ARGV[2..]: id,
-- expires_at, replaced_by ('' = keep). The expiry only ever comes closer.
-- Returns -1 for an unknown id, 0 when nothing changed, else the change number.
local key = KEYS[4]
if redis.call('EXISTS', key) == 0 then return -1 end
local dirty = false
local ex = redis.call('HGET', key, 'ex')
if not ex or tonumber(ARGV[3]) < tonumber(ex) then
  redis.call('HSET', key, 'ex', ARGV[3])
  dirty = true
end
if ARGV[4] ~= '' and redis.call('HGET', key, 'rb') ~= ARGV[4] then
  redis.call('HSET', key, 'rb', ARGV[4])
  dirty = true
end
if not dirty then return 0 end
return changed(key, ARGV[2])
