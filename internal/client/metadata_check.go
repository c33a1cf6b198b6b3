package client

// CheckMetadata validates a client that is not registered here, such as
// one described by a client metadata document (internal/cimd), by the
// same rules Create applies to a fully defaulted client.
func CheckMetadata(c Client) error { return validate(&c) }
