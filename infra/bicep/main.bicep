// A complete beehive environment on Azure Container Apps: Service Bus with the actors'
// topology, Storage for the stores, Log Analytics, managed identities with their roles, and one
// actor-host container app per group of actors, each scaled by KEDA on its own subscriptions'
// backlogs.
//
// The parameters come from the code, so they never drift: the entities, the modules and
// container every app runs, the groups of actors and their scale rules. Prismo:
//   beehive topology samples.prismo.actors --container samples.prismo.container:deployed --format bicep --output infra/bicep/prismo.parameters.json
//   az deployment group create -g RG -f infra/bicep/main.bicep \
//     -p infra/bicep/prismo.parameters.json -p image=ACR.azurecr.io/beehive:TAG registryName=ACR

targetScope = 'resourceGroup'

@description('Azure region; the resource group\'s by default.')
param location string = resourceGroup().location

// Azure allows only lower-case letters and digits in a storage account's name, and ARM has no
// pattern check for a parameter: set the name with `beehive topology --name`, which refuses
// anything else with a message saying what is allowed.
@description('Prefix of every resource name: 3 to 12 lower-case letters and digits, starting with a letter (no hyphen: it starts the storage account\'s name).')
@minLength(3)
@maxLength(12)
param name string = 'beehive'

@description('Service Bus SKU: Standard, or Premium.')
@allowed([
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Standard'

@description('Storage replication (Standard_GRS by default).')
param storageSku string = 'Standard_GRS'

@description('Allow Storage account keys; off, so only Entra ID tokens work.')
param allowSharedKeyAccess bool = false

@description('Topic names (generated).')
param topics array

@description('Subscriptions with their settings (generated).')
param subscriptions array

@description('Plain queues with their settings (generated).')
param queues array = []

@description('The container apps (generated): name, the actors it runs (only) and its KEDA scale rules, one per subscription or queue they read.')
param groups array

@description('Actor host image, for example myregistry.azurecr.io/beehive:1.0.')
param image string

@description('Azure Container Registry in this resource group holding the image; empty for a public image.')
param registryName string = ''

@description('Modules holding the actors (BEEHIVE_MODULES; generated).')
param modules string

@description('Dependency-injector container, module:Name (BEEHIVE_CONTAINER; generated with --container); empty for none.')
param container string = ''

@description('TOML file of per-actor settings every app reads (BEEHIVE_CONFIG), relative to the image\'s /app (generated with --config); empty for none.')
param config string = ''

@description('Fewest replicas of each app (0: scale to zero).')
param minReplicas int = 0

@description('Most replicas of each app.')
param maxReplicas int = 10

@description('Tags put on every resource.')
param tags object = {
  app: 'beehive'
}

var suffix = uniqueString(resourceGroup().id, name)

module identity 'modules/identity.bicep' = {
  name: '${name}-identity'
  params: {
    location: location
    name: name
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${name}-monitoring'
  params: {
    location: location
    workspaceName: 'log-${name}-${suffix}'
    tags: tags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: '${name}-servicebus'
  params: {
    location: location
    namespaceName: 'sb-${name}-${suffix}'
    sku: serviceBusSku
    topics: topics
    subscriptions: subscriptions
    queues: queues
    appPrincipalId: identity.outputs.appPrincipalId
    scalerPrincipalId: identity.outputs.scalerPrincipalId
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${name}-storage'
  params: {
    location: location
    accountName: take('st${name}${suffix}', 24)
    skuName: storageSku
    allowSharedKeyAccess: allowSharedKeyAccess
    appPrincipalId: identity.outputs.appPrincipalId
    tags: tags
  }
}

module appEnvironment 'modules/environment.bicep' = {
  name: '${name}-environment'
  params: {
    location: location
    name: name
    workspaceName: monitoring.outputs.name
    registryName: registryName
    appPrincipalId: identity.outputs.appPrincipalId
    tags: tags
  }
}

module actorHosts 'modules/containerapp.bicep' = [
  for group in groups: {
    name: '${name}-app-${group.name}'
    params: {
      location: location
      appName: 'ca-${name}-${group.name}'
      environmentId: appEnvironment.outputs.id
      image: image
      registryName: registryName
      modules: modules
      container: container
      config: config
      only: group.only
      scaleRules: group.scaleRules
      minReplicas: minReplicas
      maxReplicas: maxReplicas
      appIdentityId: identity.outputs.appId
      appClientId: identity.outputs.appClientId
      scalerIdentityId: identity.outputs.scalerId
      serviceBusName: serviceBus.outputs.name
      serviceBusFqdn: serviceBus.outputs.fqdn
      blobEndpoint: storage.outputs.blobEndpoint
      tableEndpoint: storage.outputs.tableEndpoint
      tags: tags
    }
  }
]

output serviceBusNamespace string = serviceBus.outputs.name
output serviceBusFqdn string = serviceBus.outputs.fqdn
output storageAccount string = storage.outputs.name
output blobEndpoint string = storage.outputs.blobEndpoint
output tableEndpoint string = storage.outputs.tableEndpoint
output appClientId string = identity.outputs.appClientId
output containerApps array = [for (group, i) in groups: actorHosts[i].outputs.appName]
