# language: pt
Funcionalidade: Base de conhecimento da recepcionista virtual
  A clínica envia os seus próprios arquivos (tabela de preços, perguntas frequentes, políticas)
  e a recepcionista virtual responde a partir deles, nunca de memória. A busca entende o
  português como os pacientes escrevem no WhatsApp: sem acentos, no plural, com abreviações e
  com outros nomes para o mesmo procedimento ("profilaxia" é a limpeza, "endodontia" é o canal).

  Contexto:
    Dado que a clínica tem o canal simulador
    E que a gerente enviou a tabela de preços, as perguntas frequentes e as políticas da clínica

  Esquema do Cenário: A pergunta do paciente encontra a linha que a responde
    Quando um paciente pergunta "<pergunta>"
    Então a primeira resposta vem de "<arquivo>" e diz "<trecho>"

    Exemplos:
      | pergunta                           | arquivo           | trecho                                |
      | quanto custa clareamento           | tabela-precos.csv | Clareamento                           |
      | qual o valor da profilaxia         | tabela-precos.csv | Limpeza (profilaxia) com polimento    |
      | vcs fazem endodontia? preço        | tabela-precos.csv | Tratamento de canal (endodontia)      |
      | aceita amil                        | faq.md            | Amil Dental                           |
      | onde fica a clinica                | faq.md            | Rua Augusta, 1500                     |
      | posso pagar parcelado              | faq.md            | 10x sem juros                         |
      | o que fazer depois de tirar o siso | faq.md            | morda a gaze                          |
      | preciso pagar sinal?               | politicas.txt     | sinal de 30%                          |

  Cenário: O mesmo arquivo não entra duas vezes
    Quando a gerente envia de novo a tabela de preços
    Então a base continua com 3 documentos

  Cenário: Uma secretária não altera a base de conhecimento
    Quando a secretária tenta enviar um arquivo
    Então o envio é recusado por falta de permissão

  Cenário: Um documento removido não responde mais
    Quando a gerente remove as políticas da clínica
    E um paciente pergunta "preciso pagar sinal?"
    Então nenhuma resposta vem de "politicas.txt"
