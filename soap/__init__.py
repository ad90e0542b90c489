"""SOAP 1.1/1.2 service, HTTP API and the Starlette app of the hub (contract: xsd/hub/edihub.wsdl)."""
