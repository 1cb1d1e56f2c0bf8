package salesforce

// Lookups returns how many FindByPhone lookups the client has served.
func (c *Client) Lookups() int64 { return c.lookups.Load() }

// CacheStats returns lookup cache hits and misses.
func (c *Client) CacheStats() (hits, misses int64) { return c.cacheHits.Load(), c.cacheMisses.Load() }
