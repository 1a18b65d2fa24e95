package cost

// Price is one AWS list price, written once, with where it comes from.
type Price struct {
	USD    float64
	Per    string // the unit the price is for
	Source string
}

// Read is when the prices below were last written down (us-east-1, on-demand, without free tiers: in an
// organization with consolidated billing the free tiers are shared by every account, so at hundreds of accounts
// they round to nothing). This machine has no internet access: the figures are the list prices as recorded in
// docs/organizations.md on 2026-11-26, not re-checked against the live pages (the stored copy of the CloudWatch
// page searched on 2026-12-07 lists the tiers but not the figures). Check them before budgeting.
const Read = "2026-11-26"

const (
	lambdaPricing      = "https://aws.amazon.com/lambda/pricing/"
	cloudwatchPricing  = "https://aws.amazon.com/cloudwatch/pricing/"
	kmsPricing         = "https://aws.amazon.com/kms/pricing/"
	dynamodbPricing    = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
	snsPricing         = "https://aws.amazon.com/sns/pricing/"
	sqsPricing         = "https://aws.amazon.com/sqs/pricing/"
	eventbridgePricing = "https://aws.amazon.com/eventbridge/pricing/"
)

// The unit prices of everything the templates declare that AWS bills.
var (
	LambdaRequest       = Price{0.20 / 1e6, "request", lambdaPricing}
	LambdaArmGBSecond   = Price{0.0000133334, "GB-second (arm64)", lambdaPricing}
	Alarm               = Price{0.10, "standard-resolution alarm metric-month", cloudwatchPricing}
	CustomMetric        = Price{0.30, "custom metric-month (first 10,000; prorated by the hours it receives data)", cloudwatchPricing}
	LogsIngestion       = Price{0.50, "GB ingested (standard log class)", cloudwatchPricing}
	LogsStorage         = Price{0.03, "GB-month stored (compressed)", cloudwatchPricing}
	KMSKey              = Price{1.00, "customer managed key-month (each of the first two automatic rotations adds $1)", kmsPricing}
	KMSRequest          = Price{0.03 / 1e4, "request", kmsPricing}
	DynamoRead          = Price{0.125 / 1e6, "read request unit (on demand)", dynamodbPricing}
	DynamoWrite         = Price{0.625 / 1e6, "write request unit (on demand)", dynamodbPricing}
	DynamoStorage       = Price{0.25, "GB-month (first 25 GB free)", dynamodbPricing}
	DynamoPITR          = Price{0.20, "GB-month of continuous backup", dynamodbPricing}
	SNSPublish          = Price{0.50 / 1e6, "publish (64 KB chunk)", snsPricing}
	SQSRequest          = Price{0.40 / 1e6, "request (standard queue)", sqsPricing}
	EventBridgeCustom   = Price{1.00 / 1e6, "custom or cross-account event", eventbridgePricing}
	EventBridgeAWSEvent = Price{0, "AWS service event or scheduled rule invocation", eventbridgePricing}
)
