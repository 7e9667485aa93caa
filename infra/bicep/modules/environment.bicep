// The Container Apps environment every actor-host app runs in, its logs sent to Log Analytics,
// and the app identity's right to pull from the registry (one assignment, whatever the number
// of apps).

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param name string

@description('Log Analytics workspace receiving the logs.')
param workspaceName string

@description('Azure Container Registry in this resource group to pull from with the app identity; empty for a public image.')
param registryName string = ''

@description('Principal id of the identity the actor hosts run as (pulls the image).')
param appPrincipalId string

@description('Tags put on every resource.')
param tags object = {}

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(registryName)) {
  name: empty(registryName) ? 'none' : registryName
}

resource pulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryName)) {
  name: guid(resourceGroup().id, registryName, appPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: 'cae-${name}'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
  dependsOn: [
    pulls
  ]
}

output id string = environment.id
output name string = environment.name
