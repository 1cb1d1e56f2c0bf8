package fakeorg

// Demo users. AgentUsername is the default, "already signed in" user.
const (
	// AgentUsername is the demo's default agent (extension 1001).
	AgentUsername = "alex.agent@demo.switchboard"
	// IntegrationUsername is the user the server's JWT bearer flow acts
	// as; it has no extension.
	IntegrationUsername = "integration@demo.switchboard"
)

// Demo phone numbers.
const (
	// KnownCaller is Lucy Hall's number: one Contact matches.
	KnownCaller = "+14155550123"
	// SharedNumber is stored on two Contacts (a household line).
	SharedNumber = "+14155550142"
	// PersonAccountNumber is Maria Gonzalez's mobile (a Person Account).
	PersonAccountNumber = "+14155550177"
	// LeadNumber is a Lead's number.
	LeadNumber = "+14155550188"
	// UnknownCaller matches nothing.
	UnknownCaller = "+14155550199"
	// CampaignDNIS is the Spring Promo line's number (Campaign.DNIS__c).
	CampaignDNIS = "+18005550100"
	// DemoCaseNumber is a Case callers can key in.
	DemoCaseNumber = "00001001"
)

// DemoUsers are the demo org's users: one agent per extension and the
// integration user.
var DemoUsers = []User{
	{Username: AgentUsername, FirstName: "Alex", LastName: "Agent", Extension: "1001"},
	{Username: "blair.baker@demo.switchboard", FirstName: "Blair", LastName: "Baker", Extension: "1002"},
	{Username: "casey.chen@demo.switchboard", FirstName: "Casey", LastName: "Chen", Extension: "1003"},
	{Username: "dana.diaz@demo.switchboard", FirstName: "Dana", LastName: "Diaz", Extension: "2001"},
	{Username: "eli.evans@demo.switchboard", FirstName: "Eli", LastName: "Evans", Extension: "2002"},
	{Username: "frankie.fox@demo.switchboard", FirstName: "Frankie", LastName: "Fox", Extension: "3001", EmployeeNumber: "5001"},
	{Username: "gray.garcia@demo.switchboard", FirstName: "Gray", LastName: "Garcia", Extension: "3002", EmployeeNumber: "5002"},
	{Username: IntegrationUsername, FirstName: "Switchboard", LastName: "Integration"},
}

// Demo returns an org seeded with demo data. opt.Users defaults to
// DemoUsers and opt.DefaultUser to AgentUsername.
//
// Seeded: Contact Lucy Hall (KnownCaller, stored in E.164); Sam and Riley
// Patel sharing SharedNumber (stored as "(415) 555-0142"); Accounts Acme
// Corporation and Globex; the Person Account Maria Gonzalez (mobile
// PersonAccountNumber); Leads Jordan Lee (LeadNumber) and Taylor Kim (a UK
// mobile); the active Campaign "Spring Promo Line" (DNIS__c CampaignDNIS)
// and an inactive one; Cases 00001001-00001003. UnknownCaller matches
// nothing.
func Demo(opt Options) *Org {
	if opt.Users == nil {
		opt.Users = DemoUsers
	}
	if opt.DefaultUser == "" {
		opt.DefaultUser = AgentUsername
	}
	o := New(opt)
	acme := o.Insert("Account", map[string]any{"Name": "Acme Corporation", "Phone": "(415) 555-0100", "Type": "Customer - Direct", "IsPersonAccount": false})
	globex := o.Insert("Account", map[string]any{"Name": "Globex", "Phone": "+1 212 555 0175", "Type": "Prospect", "IsPersonAccount": false})
	o.Insert("Account", map[string]any{"Name": "Maria Gonzalez", "IsPersonAccount": true, "Phone": "(415) 555-0166",
		"PersonMobilePhone": "(415) 555-0177", "Type": "Customer - Direct"})
	lucy := o.Insert("Contact", map[string]any{"FirstName": "Lucy", "LastName": "Hall", "Phone": KnownCaller,
		"Email": "lucy.hall@acme.example", "Title": "IT Manager", "AccountId": acme})
	sam := o.Insert("Contact", map[string]any{"FirstName": "Sam", "LastName": "Patel", "Phone": "(415) 555-0142",
		"MobilePhone": "(415) 555-0143", "Email": "sam.patel@globex.example", "AccountId": globex})
	o.Insert("Contact", map[string]any{"FirstName": "Riley", "LastName": "Patel", "HomePhone": "415.555.0142",
		"Email": "riley.patel@example.com"})
	o.Insert("Contact", map[string]any{"FirstName": "Lucas", "LastName": "Hallam", "Phone": "(212) 555-0190",
		"Email": "lucas.hallam@globex.example", "AccountId": globex})
	o.Insert("Lead", map[string]any{"FirstName": "Jordan", "LastName": "Lee", "Company": "Initech", "Phone": "415-555-0188"})
	o.Insert("Lead", map[string]any{"FirstName": "Taylor", "LastName": "Kim", "Company": "Kim & Co", "MobilePhone": "+44 20 7946 0958"})
	o.Insert("Campaign", map[string]any{"Name": "Spring Promo Line", "IsActive": true, "Status": "In Progress", "DNIS__c": CampaignDNIS})
	o.Insert("Campaign", map[string]any{"Name": "Winter Promo Line (ended)", "IsActive": false, "Status": "Completed", "DNIS__c": "+18005550111"})
	o.Insert("Case", map[string]any{"Subject": "Router will not boot", "Status": "Working", "ContactId": lucy, "AccountId": acme})
	o.Insert("Case", map[string]any{"Subject": "Invoice question", "Status": "New", "ContactId": sam, "AccountId": globex})
	o.Insert("Case", map[string]any{"Subject": "Upgrade request", "Status": "New", "AccountId": acme})
	return o
}
