package main

import (
	"bytes"
	"text/template"

	"github.com/switchboard-cti/switchboard/phone"
)

// callCenterTemplate is the call center definition admins import in Setup >
// Call Centers (Salesforce's format: sections and items with gapless
// sortOrder from 0). The repository's callcenter-definition.xml is this
// template rendered for https://switchboard.example.com with no dialing
// options; a test keeps the two in step. The dialing options mirror the
// server's settings.
var callCenterTemplate = template.Must(template.New("cc").Funcs(template.FuncMap{"xml": template.HTMLEscapeString}).Parse(`<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="InternalName">SwitchboardOpenCTI</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Switchboard</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">{{xml .URL}}/softphone/</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">560</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
    <item sortOrder="6" name="reqSalesforceCompatibilityMode" label="Salesforce Compatibility Mode">Classic_and_Lightning</item>
  </section>
  <section sortOrder="1" name="reqDialingOptions" label="Dialing Options">
    <item sortOrder="0" name="reqOutsidePrefix" label="Outside Prefix">{{xml .Dial.Outside}}</item>
    <item sortOrder="1" name="reqLongDistPrefix" label="Long Distance Prefix">{{xml .Dial.LongDistance}}</item>
    <item sortOrder="2" name="reqInternationalPrefix" label="International Prefix">{{xml .Dial.International}}</item>
  </section>
  <section sortOrder="2" name="switchboardOptions" label="Switchboard Options">
    <item sortOrder="0" name="apiVersion" label="Open CTI API Version">67.0</item>
    <item sortOrder="1" name="popAt" label="Default Pop-Up at (ringing or answered)">ringing</item>
    <item sortOrder="2" name="popOrder" label="Default Pop-Up Order (ani, dnis, digits, new_contact)">ani,dnis,digits,new_contact</item>
    <item sortOrder="3" name="quickNotes" label="Quick Notes (one per line)">Left voicemail
Call back requested
Issue resolved
Escalated</item>
    <item sortOrder="4" name="wrapUpActions" label="Wrap-up actions (one per line)">Save &amp; Exit
Follow-up call
Send information</item>
  </section>
</callCenter>
`))

// callCenterXML renders the call center definition for a public base URL
// with no dialing options.
func callCenterXML(publicURL string) []byte {
	return callCenterXMLFor(publicURL, phone.Options{})
}

// callCenterXMLFor renders it with the server's dialing options, so the
// definition an admin imports shows the prefixes the server applies (the
// server's settings, SWITCHBOARD_DIAL_*_PREFIX, are what counts: an agent's
// browser cannot change what is dialled).
func callCenterXMLFor(publicURL string, dial phone.Options) []byte {
	var b bytes.Buffer
	_ = callCenterTemplate.Execute(&b, struct {
		URL  string
		Dial phone.Options
	}{publicURL, dial})
	return b.Bytes()
}
