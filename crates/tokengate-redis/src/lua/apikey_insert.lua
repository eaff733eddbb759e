-- RedisApiKeyStore::insert. KEYS[4]: the record, KEYS[5]: the owner's set.
-- ARGV[2..]: id, JSON, revoked_at, expires_at, replaced_by ('' = none).
-- Returns the change number, or -1 when the id exists (nothing changed).
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
return store(KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
