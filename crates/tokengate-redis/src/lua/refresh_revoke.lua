-- Revokes a family, keeping the first instant (RedisRefreshStore::revoke_family).
-- KEYS[1]: the family hash. ARGV: at, expire-at for a family this
-- creates ('' = no TTL; an existing family keeps its own).
local fam = KEYS[1]
local created = redis.call('EXISTS', fam) == 0
redis.call('HSETNX', fam, 'revoked', ARGV[1])
if created and ARGV[2] ~= '' then redis.call('EXPIREAT', fam, ARGV[2]) end
return 'ok'
