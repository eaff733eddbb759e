-- RedisApiKeyStore::revoke. KEYS[4]: the record. ARGV[2..]: id, at.
-- Returns -1 for an unknown id, 0 when already revoked (the first instant
-- stays, nothing changed), else the change number.
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[4], 'rv') == 1 then return 0 end
redis.call('HSET', KEYS[4], 'rv', ARGV[3])
return changed(KEYS[4], ARGV[2])
