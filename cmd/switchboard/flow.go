package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/flowapi"
)

// demoFlowClient lets anyone try the Flow API in demo mode (client
// credentials at /api/flow/v1/oauth/token); it is only a demo's secret.
const (
	demoFlowClientID     = "switchboard-demo-flow"
	demoFlowClientSecret = "demo-flow-secret-for-local-use-only"
)

// flowAuth turns the SWITCHBOARD_FLOW_* settings into the Flow API's
// authentication. public is the deployment's public URL (the default JWT
// audience).
func flowAuth(cfg Config, public string) (flowapi.AuthConfig, error) {
	var problems []string
	a := flowapi.AuthConfig{TokenTTL: cfg.FlowTokenTTL, MaxJWTLifetime: cfg.FlowJWTMaxLifetime}
	if cfg.FlowRateLimit != "" {
		n, err := strconv.Atoi(cfg.FlowRateLimit)
		if err != nil || n < 1 || n > 100000 {
			problems = append(problems, "SWITCHBOARD_FLOW_RATE_LIMIT: requests per minute per client, 1 to 100000")
		}
		a.RatePerMinute = n
	}
	if cfg.FlowClients != "" {
		cs, err := flowapi.ParseClients(cfg.FlowClients)
		if err != nil {
			problems = append(problems, "SWITCHBOARD_FLOW_CLIENTS: "+err.Error())
		}
		a.Clients = cs
	} else if cfg.Demo {
		a.Clients = []flowapi.Client{{ID: demoFlowClientID, Secret: demoFlowClientSecret, Scopes: flowapi.AllScopes}}
	}
	if cfg.FlowJWTIssuer != "" || cfg.FlowJWTCert != "" {
		nc := &flowapi.NamedCredential{Issuer: cfg.FlowJWTIssuer, Audience: cfg.FlowJWTAudience}
		if nc.Audience == "" {
			nc.Audience = public
		}
		if nc.Issuer == "" {
			problems = append(problems, "SWITCHBOARD_FLOW_JWT_ISSUER: required with SWITCHBOARD_FLOW_JWT_CERT (the iss claim set in the External Credential)")
		}
		if cfg.FlowJWTCert == "" {
			problems = append(problems, "SWITCHBOARD_FLOW_JWT_CERT_FILE: required with SWITCHBOARD_FLOW_JWT_ISSUER (the certificate the Named Credential signs with)")
		} else if k, err := flowapi.ParsePublicKey([]byte(cfg.FlowJWTCert)); err != nil {
			problems = append(problems, "SWITCHBOARD_FLOW_JWT_CERT: "+err.Error())
		} else {
			nc.Key = k
		}
		sc, err := flowapi.ParseScopes(cfg.FlowJWTScopes)
		if err != nil {
			problems = append(problems, "SWITCHBOARD_FLOW_JWT_SCOPES: "+err.Error())
		}
		nc.Scopes = sc
		a.NamedCredential = nc
	}
	if len(problems) > 0 {
		return a, fmt.Errorf("%s", strings.Join(problems, "\n  "))
	}
	return a, nil
}

// flowProblems lists what is wrong with the Flow API settings (for
// Config.validate).
func (c *Config) flowProblems() []string {
	if _, err := flowAuth(*c, c.PublicURL); err != nil {
		return strings.Split(err.Error(), "\n  ")
	}
	return nil
}

// flowAPI builds the Flow API, mounted at /api/flow/v1.
func (m *Main) flowAPI(public string, svc *adapter.Service, users flowapi.Users) (*flowapi.API, error) {
	auth, err := flowAuth(m.Config, public)
	if err != nil {
		return nil, fmt.Errorf("configuration:\n  %w", err)
	}
	return flowapi.New(flowapi.Config{Service: svc, Users: users, Auth: auth, PublicURL: public, Log: m.Log, Now: m.Clock.Now}), nil
}
