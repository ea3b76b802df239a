package natsbus

// ParseEvent is parseEvent, for the tests of package natsbus_test.
var ParseEvent = parseEvent
