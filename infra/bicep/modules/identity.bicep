// User-assigned identities: one the actor host runs as, one the KEDA scaler reads queue
// lengths with. They are apart because reading message counts needs the Manage right
// (Service Bus Data Owner), which the host itself must not hold.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param name string

@description('Tags put on every resource.')
param tags object = {}

resource app 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-app'
  location: location
  tags: tags
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${name}-scaler'
  location: location
  tags: tags
}

output appId string = app.id
output appPrincipalId string = app.properties.principalId
output appClientId string = app.properties.clientId
output scalerId string = scaler.id
output scalerPrincipalId string = scaler.properties.principalId
